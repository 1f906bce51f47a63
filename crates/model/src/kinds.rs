//! Kinds: what entities of a kind look like (JSON Schema) and which relations their fields
//! create. Built-in kinds (Backstage's) and custom kinds (declared by `Kind` entities) share one
//! declaration shape, [`KindDecl`], so the registry treats them alike.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{FieldError, ModelError};
use crate::Entity;

/// apiVersion of Portico's own kinds, including `Kind`.
pub const PORTICO_API_VERSION: &str = "portico.dev/v1";

const SCHEMA_BASE: &str = "https://portico.dev/schemas/backstage/";

/// Backstage's schemas, embedded: (file, `$id`).
const SCHEMA_FILES: &[(&str, &str)] = &[
    ("Entity.schema.json", include_str!("../schemas/Entity.schema.json")),
    ("EntityEnvelope.schema.json", include_str!("../schemas/EntityEnvelope.schema.json")),
    ("EntityMeta.schema.json", include_str!("../schemas/EntityMeta.schema.json")),
    ("shared/common.schema.json", include_str!("../schemas/shared/common.schema.json")),
    ("kinds/API.v1alpha1.mcp-server.schema.json", include_str!("../schemas/kinds/API.v1alpha1.mcp-server.schema.json")),
    ("kinds/API.v1alpha1.schema.json", include_str!("../schemas/kinds/API.v1alpha1.schema.json")),
    ("kinds/AiResource.v1alpha1.marketplace.schema.json", include_str!("../schemas/kinds/AiResource.v1alpha1.marketplace.schema.json")),
    ("kinds/AiResource.v1alpha1.plugin.schema.json", include_str!("../schemas/kinds/AiResource.v1alpha1.plugin.schema.json")),
    ("kinds/AiResource.v1alpha1.rule.schema.json", include_str!("../schemas/kinds/AiResource.v1alpha1.rule.schema.json")),
    ("kinds/AiResource.v1alpha1.schema.json", include_str!("../schemas/kinds/AiResource.v1alpha1.schema.json")),
    ("kinds/AiResource.v1alpha1.skill.schema.json", include_str!("../schemas/kinds/AiResource.v1alpha1.skill.schema.json")),
    ("kinds/Component.v1alpha1.schema.json", include_str!("../schemas/kinds/Component.v1alpha1.schema.json")),
    ("kinds/Domain.v1alpha1.schema.json", include_str!("../schemas/kinds/Domain.v1alpha1.schema.json")),
    ("kinds/Group.v1alpha1.schema.json", include_str!("../schemas/kinds/Group.v1alpha1.schema.json")),
    ("kinds/Location.v1alpha1.schema.json", include_str!("../schemas/kinds/Location.v1alpha1.schema.json")),
    ("kinds/Resource.v1alpha1.schema.json", include_str!("../schemas/kinds/Resource.v1alpha1.schema.json")),
    ("kinds/System.v1alpha1.schema.json", include_str!("../schemas/kinds/System.v1alpha1.schema.json")),
    ("kinds/Template.v1beta3.schema.json", include_str!("../schemas/kinds/Template.v1beta3.schema.json")),
    ("kinds/User.v1alpha1.schema.json", include_str!("../schemas/kinds/User.v1alpha1.schema.json")),
];

/// A relation a kind's field creates: `field` holds one reference or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationRule {
    /// Dotted path, e.g. `spec.owner`.
    pub field: String,
    #[serde(rename = "type")]
    pub relation: String,
    pub inverse: String,
    /// Kind assumed when a reference leaves it out; without one, references must name a kind.
    #[serde(default)]
    pub target_kind: Option<String>,
}

/// The declaration shape shared by built-in kinds and `Kind` entities.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KindDecl {
    kind: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    api_versions: Vec<String>,
    /// Schema of the whole entity (built-ins: Backstage's file).
    #[serde(default)]
    schema_file: Option<String>,
    #[serde(default)]
    variant_files: BTreeMap<String, String>,
    /// Schema of `spec` (custom kinds).
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    variants: BTreeMap<String, Value>,
    #[serde(default)]
    relations: Vec<RelationRule>,
}

/// A compiled schema and what part of the entity it checks.
pub struct VariantSchema {
    /// `true`: validates the whole entity; `false`: validates `spec` only.
    pub whole_entity: bool,
    pub validator: jsonschema::Validator,
}

/// A kind, compiled.
pub struct KindDef {
    pub kind: String,
    pub description: Option<String>,
    pub api_versions: Vec<String>,
    pub builtin: bool,
    /// Schema used when no variant matches `spec.type`.
    pub schema: Option<VariantSchema>,
    /// Per `spec.type`, a more specific schema.
    pub variants: BTreeMap<String, VariantSchema>,
    pub relations: Vec<RelationRule>,
}

impl std::fmt::Debug for KindDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindDef").field("kind", &self.kind).field("api_versions", &self.api_versions).finish()
    }
}

impl KindDef {
    /// The schema that applies to an entity with this `spec.type`.
    pub fn schema_for(&self, spec_type: Option<&str>) -> Option<&VariantSchema> {
        spec_type.and_then(|t| self.variants.get(t)).or(self.schema.as_ref())
    }
}

/// All known kinds, by lowercased name. Cheap to clone.
#[derive(Clone, Debug)]
pub struct KindRegistry {
    kinds: Arc<HashMap<String, Arc<KindDef>>>,
}

struct Shared {
    registry: jsonschema::Registry<'static>,
    entity: jsonschema::Validator,
    builtin: HashMap<String, Arc<KindDef>>,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let mut builder = jsonschema::Registry::new();
        for (file, text) in SCHEMA_FILES {
            let value: Value = serde_json::from_str(text).expect("embedded schema is JSON");
            let id = value.get("$id").and_then(Value::as_str).unwrap_or(file).to_owned();
            builder = builder.add(format!("{SCHEMA_BASE}{id}"), value).expect("embedded schema id is a URI");
        }
        let registry = builder.prepare().expect("embedded schemas resolve");
        let entity = compile(&registry, &serde_json::json!({"$ref": "Entity"})).expect("Entity schema compiles");
        let decls: Vec<KindDecl> =
            serde_saphyr::from_str(include_str!("builtin-kinds.yaml")).expect("builtin-kinds.yaml parses");
        let mut builtin = HashMap::new();
        for decl in decls {
            let def = compile_decl(&registry, decl, true).expect("built-in kind compiles");
            builtin.insert(def.kind.to_ascii_lowercase(), Arc::new(def));
        }
        Shared { registry, entity, builtin }
    })
}

fn compile(registry: &jsonschema::Registry<'_>, schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_registry(registry)
        .with_base_uri(SCHEMA_BASE)
        .offline()
        .build(schema)
        .map_err(|e| e.to_string())
}

fn schema_file(file: &str) -> Result<Value, String> {
    SCHEMA_FILES
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, text)| serde_json::from_str(text).expect("embedded schema is JSON"))
        .ok_or_else(|| format!("no built-in schema file {file}"))
}

fn compile_decl(registry: &jsonschema::Registry<'_>, decl: KindDecl, builtin: bool) -> Result<KindDef, ModelError> {
    let err = |reason: String| ModelError::InvalidKind { kind: decl.kind.clone(), reason };
    if !crate::naming::is_valid_kind(&decl.kind) {
        return Err(err(format!("`{}` is not a valid kind name; {}", decl.kind, crate::naming::KIND_RULE)));
    }
    let whole = |file: &str| -> Result<VariantSchema, ModelError> {
        let schema = schema_file(file).map_err(err)?;
        let validator = compile(registry, &schema).map_err(|e| err(format!("schema {file}: {e}")))?;
        Ok(VariantSchema { whole_entity: true, validator })
    };
    let spec = |path: &str, schema: &Value| -> Result<VariantSchema, ModelError> {
        let validator = compile(registry, schema).map_err(|e| err(format!("{path}: {e}")))?;
        Ok(VariantSchema { whole_entity: false, validator })
    };
    let schema = match (&decl.schema_file, &decl.schema) {
        (Some(file), _) => Some(whole(file)?),
        (None, Some(s)) => Some(spec("spec.schema", s)?),
        (None, None) => None,
    };
    let mut variants = BTreeMap::new();
    for (t, file) in &decl.variant_files {
        variants.insert(t.clone(), whole(file)?);
    }
    for (t, s) in &decl.variants {
        variants.insert(t.clone(), spec(&format!("spec.variants.{t}"), s)?);
    }
    for rule in &decl.relations {
        if let Some(k) = &rule.target_kind
            && !crate::naming::is_valid_kind(k) {
                return Err(err(format!("relation on {}: targetKind `{k}` is not a valid kind name", rule.field)));
            }
    }
    let api_versions =
        if decl.api_versions.is_empty() { vec![PORTICO_API_VERSION.to_owned()] } else { decl.api_versions };
    Ok(KindDef {
        kind: decl.kind,
        description: decl.description,
        api_versions,
        builtin,
        schema,
        variants,
        relations: decl.relations,
    })
}

impl Default for KindRegistry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl KindRegistry {
    /// Backstage's kinds plus `Kind`.
    pub fn builtin() -> Self {
        Self { kinds: Arc::new(shared().builtin.clone()) }
    }

    pub fn get(&self, kind: &str) -> Option<&Arc<KindDef>> {
        self.kinds.get(&kind.to_ascii_lowercase())
    }

    pub fn kinds(&self) -> impl Iterator<Item = &Arc<KindDef>> {
        self.kinds.values()
    }

    /// The generic entity schema (envelope and metadata), shared by all kinds.
    pub(crate) fn entity_schema(&self) -> &'static jsonschema::Validator {
        &shared().entity
    }

    /// Compiles the kind a validated `Kind` entity declares.
    pub fn compile_kind_entity(entity: &Entity) -> Result<KindDef, Vec<FieldError>> {
        let spec = Value::Object(entity.spec.clone().unwrap_or_default());
        let decl: KindDecl = serde_json::from_value(spec).map_err(|e| vec![FieldError::new("spec", e.to_string())])?;
        compile_decl(&shared().registry, decl, false).map_err(|e| vec![FieldError::new("spec", e.to_string())])
    }

    /// A registry with the kinds declared by these `Kind` entities added. A declaration may not
    /// redefine a built-in kind; later declarations of the same custom kind replace earlier ones.
    pub fn with_declared<'a>(&self, entities: impl IntoIterator<Item = &'a Entity>) -> Result<Self, Vec<FieldError>> {
        let mut kinds = (*self.kinds).clone();
        for entity in entities {
            let def = Self::compile_kind_entity(entity)?;
            let key = def.kind.to_ascii_lowercase();
            if kinds.get(&key).is_some_and(|k| k.builtin) {
                return Err(vec![FieldError::new(
                    "spec.kind",
                    format!("`{}` is a built-in kind and cannot be redeclared", def.kind),
                )]);
            }
            kinds.insert(key, Arc::new(def));
        }
        Ok(Self { kinds: Arc::new(kinds) })
    }
}
