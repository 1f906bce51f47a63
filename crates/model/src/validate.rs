//! Turning an untrusted JSON document into an [`Entity`]: envelope, kind, schema, naming rules
//! and references, each problem reported with the path of the field it concerns.

use serde_json::Value;

use crate::error::FieldError;
use crate::kinds::{KindDef, KindRegistry};
use crate::naming as n;
use crate::{Entity, EntityRef, RefDefaults};

/// Validates entities against a [`KindRegistry`]. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Validator {
    kinds: KindRegistry,
}

/// A check of an entity of one kind beyond its schema, by a crate that understands its fields
/// (a Scorecard's expressions): problems by field path.
pub type EntityCheck = fn(&Entity) -> Vec<FieldError>;

static ENTITY_CHECKS: std::sync::RwLock<Vec<(&'static str, EntityCheck)>> = std::sync::RwLock::new(Vec::new());

/// Makes every validator run `check` on the entities of `kind` that pass their schema (set once
/// at start by the crate that owns the kind; setting it again replaces it).
pub fn register_entity_check(kind: &'static str, check: EntityCheck) {
    let mut checks = ENTITY_CHECKS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    checks.retain(|(k, _)| *k != kind);
    checks.push((kind, check));
}

fn entity_check(kind: &str) -> Option<EntityCheck> {
    ENTITY_CHECKS.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter().find(|(k, _)| *k == kind).map(|(_, c)| *c)
}

/// Converts a JSON pointer (`/spec/tags/1`) into the dotted form used in messages (`spec.tags[1]`).
pub fn pointer_to_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

impl Validator {
    pub fn new(kinds: KindRegistry) -> Self {
        Self { kinds }
    }

    pub fn kinds(&self) -> &KindRegistry {
        &self.kinds
    }

    /// Validates one document. Fills `metadata.namespace` with `default` when absent.
    pub fn validate(&self, value: Value) -> Result<Entity, Vec<FieldError>> {
        if !value.is_object() {
            return Err(vec![FieldError::new("", format!("expected an entity (a mapping), got {}", type_name(&value)))]);
        }
        let mut errors = Vec::new();
        for e in self.kinds.entity_schema().iter_errors(&value) {
            errors.push(FieldError::new(pointer_to_path(e.instance_path().as_str()), e.to_string()));
        }
        if !errors.is_empty() {
            return Err(dedup(errors));
        }
        let kind = value["kind"].as_str().unwrap_or_default();
        let api_version = value["apiVersion"].as_str().unwrap_or_default();
        let Some(def) = self.kinds.get(kind) else {
            return Err(vec![unknown_kind(kind, api_version)]);
        };
        if def.kind != kind {
            return Err(vec![FieldError::new(
                "kind",
                format!("unknown kind `{kind}`; kinds are case-sensitive, did you mean `{}`?", def.kind),
            )]);
        }
        if !def.api_versions.iter().any(|v| v == api_version) {
            return Err(vec![FieldError::new(
                "apiVersion",
                format!("`{api_version}` is not an apiVersion of kind {kind}; expected one of: {}", def.api_versions.join(", ")),
            )]);
        }
        schema_errors(def, &value, &mut errors);
        if !errors.is_empty() {
            return Err(dedup(errors));
        }
        let entity: Entity = serde_json::from_value(value).map_err(|e| vec![FieldError::new("", e.to_string())])?;
        naming_errors(&entity, &mut errors);
        reference_errors(def, &entity, &mut errors);
        if entity.kind == "Kind" && errors.is_empty()
            && let Err(mut e) = KindRegistry::compile_kind_entity(&entity) {
                errors.append(&mut e);
            }
        if errors.is_empty()
            && let Some(check) = entity_check(&entity.kind) {
                errors.extend(check(&entity));
            }
        if errors.is_empty() { Ok(entity) } else { Err(errors) }
    }

    /// The relations an entity's own fields create: (type, inverse type, target).
    /// Assumes the entity passed [`Validator::validate`]; references that fail to parse are skipped.
    pub fn outgoing_relations(&self, entity: &Entity) -> Vec<(String, String, EntityRef)> {
        let Some(def) = self.kinds.get(&entity.kind) else { return Vec::new() };
        let mut out = Vec::new();
        for_each_ref(def, entity, |rule, _path, parsed| {
            if let Ok(target) = parsed {
                out.push((rule.relation.clone(), rule.inverse.clone(), target));
            }
        });
        out
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn unknown_kind(kind: &str, api_version: &str) -> FieldError {
    FieldError::new(
        "kind",
        format!(
            "unknown kind `{kind}` (apiVersion {api_version}); declare it with an entity of kind `Kind` \
             (apiVersion {}) whose spec gives the kind's name, spec schema and relations",
            crate::PORTICO_API_VERSION
        ),
    )
}

fn dedup(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert((e.path.clone(), e.message.clone())));
    errors
}

fn schema_errors(def: &KindDef, value: &Value, errors: &mut Vec<FieldError>) {
    let spec_type = value.pointer("/spec/type").and_then(Value::as_str);
    let Some(schema) = def.schema_for(spec_type) else { return };
    if schema.whole_entity {
        for e in schema.validator.iter_errors(value) {
            errors.push(FieldError::new(pointer_to_path(e.instance_path().as_str()), e.to_string()));
        }
    } else {
        let spec = value.get("spec").cloned().unwrap_or(Value::Object(Default::default()));
        for e in schema.validator.iter_errors(&spec) {
            let path = pointer_to_path(e.instance_path().as_str());
            let path = if path.is_empty() { "spec".to_owned() } else { format!("spec.{path}").replace("spec.[", "spec[") };
            errors.push(FieldError::new(path, e.to_string()));
        }
    }
}

fn naming_errors(entity: &Entity, errors: &mut Vec<FieldError>) {
    let m = &entity.metadata;
    let mut check = |ok: bool, path: String, value: &str, rule: &str| {
        if !ok {
            errors.push(FieldError::new(path, format!("{value:?} is not valid; {rule}")));
        }
    };
    check(n::is_valid_api_version(&entity.api_version), "apiVersion".into(), &entity.api_version, n::API_VERSION_RULE);
    check(n::is_valid_kind(&entity.kind), "kind".into(), &entity.kind, n::KIND_RULE);
    check(n::is_valid_object_name(&m.name), "metadata.name".into(), &m.name, n::NAME_RULE);
    check(n::is_valid_namespace(&m.namespace), "metadata.namespace".into(), &m.namespace, n::NAMESPACE_RULE);
    for (k, v) in &m.labels {
        check(n::is_valid_key(k), format!("metadata.labels.{k}"), k, n::KEY_RULE);
        check(n::is_valid_label_value(v), format!("metadata.labels.{k}"), v, n::NAME_RULE);
    }
    for k in m.annotations.keys() {
        check(n::is_valid_key(k), format!("metadata.annotations.{k}"), k, n::KEY_RULE);
    }
    for (i, t) in m.tags.iter().enumerate() {
        check(n::is_valid_tag(t), format!("metadata.tags[{i}]"), t, n::TAG_RULE);
    }
}

fn reference_errors(def: &KindDef, entity: &Entity, errors: &mut Vec<FieldError>) {
    for_each_ref(def, entity, |_rule, path, parsed| match parsed {
        Ok(_) => {}
        Err(msg) => errors.push(FieldError::new(path, msg)),
    });
}

/// Calls `f` for each reference found in the fields a kind's relation rules name.
fn for_each_ref(
    def: &KindDef,
    entity: &Entity,
    mut f: impl FnMut(&crate::RelationRule, String, Result<EntityRef, String>),
) {
    let Some(spec) = entity.spec.as_ref() else { return };
    for rule in &def.relations {
        let Some(mut rest) = rule.field.strip_prefix("spec.") else { continue };
        let mut node = None;
        let mut map = spec;
        loop {
            match rest.split_once('.') {
                Some((head, tail)) => match map.get(head).and_then(Value::as_object) {
                    Some(m) => {
                        map = m;
                        rest = tail;
                    }
                    None => break,
                },
                None => {
                    node = map.get(rest);
                    break;
                }
            }
        }
        let defaults =
            RefDefaults { kind: rule.target_kind.as_deref(), namespace: Some(entity.metadata.namespace.as_str()) };
        let mut one = |path: String, v: &Value| match v.as_str() {
            Some(s) => f(rule, path, EntityRef::parse(s, defaults).map_err(|e| e.to_string())),
            None => f(rule, path, Err(format!("expected an entity reference, got {}", type_name(v)))),
        };
        match node {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    one(format!("{}[{i}]", rule.field), v);
                }
            }
            Some(v) => one(rule.field.clone(), v),
        }
    }
}

#[cfg(test)]
mod tests;
