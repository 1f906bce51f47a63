//! Terraform state files, read into one normalized shape. Format version 4 (Terraform 0.12 and
//! later) is read as written; version 3 (0.11 and earlier) is upgraded the way Terraform itself
//! does it: `modules[].path` becomes the module address, each `resources` key
//! (`[data.]TYPE.NAME[.N]`) an instance and `primary` its object. Versions 1, 2 and 5+ are
//! rejected, naming the version found.
//!
//! Errors name the file, the field (`resources[3].instances[0].index_key`) and, for
//! malformed JSON, the line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// A state, whatever its format version.
#[derive(Debug)]
pub(crate) struct State {
    pub resources: Vec<Resource>,
}

/// One resource block (`module.vpc.aws_subnet.private`) and its instances.
#[derive(Debug)]
pub(crate) struct Resource {
    /// Module instance address (`module.vpc`, `module.app["eu"]`); empty for the root module.
    pub module: String,
    pub data: bool,
    pub kind: String,
    pub name: String,
    /// The provider configuration address as written (`provider["registry.terraform.io/hashicorp/aws"]`).
    pub provider: String,
    pub instances: Vec<Instance>,
}

#[derive(Debug)]
pub(crate) struct Instance {
    /// `[0]` or `["eu-west-1"]`; empty for a single instance.
    pub key: String,
    pub attributes: Attributes,
    /// Absolute addresses of the resources this one depends on.
    pub dependencies: Vec<String>,
}

/// The few attributes the catalog uses, from either attribute format.
#[derive(Debug, Default)]
pub(crate) struct Attributes {
    pub id: Option<String>,
    pub arn: Option<String>,
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Resource {
    /// `module.vpc.aws_subnet.private` (`data.` before the type for data sources).
    pub fn address(&self) -> String {
        let mut a = String::with_capacity(self.module.len() + self.kind.len() + self.name.len() + 7);
        if !self.module.is_empty() {
            a.push_str(&self.module);
            a.push('.');
        }
        if self.data {
            a.push_str("data.");
        }
        a.push_str(&self.kind);
        a.push('.');
        a.push_str(&self.name);
        a
    }
}

/// Lineage and serial only, without building anything else: enough to tell a state has not
/// changed. The rest of the document is skipped.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    version: Value,
    #[serde(default)]
    lineage: Option<String>,
    #[serde(default)]
    serial: Option<u64>,
}

/// `lineage:serial` of a state, after checking its format version.
pub(crate) fn identity(file: &str, text: &str) -> Result<(String, u64, u64), String> {
    if !text.trim_start().starts_with('{') {
        // Valid JSON of another shape is named as such; anything else gets its syntax error.
        let _: serde::de::IgnoredAny = from_json(file, text)?;
        return Err(format!("{file}: not a Terraform state: expected a JSON object"));
    }
    let h: Header = from_json(file, text)?;
    let version = match &h.version {
        Value::Null => return Err(format!("{file}: field `version` is missing: not a Terraform state")),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    let version = version.ok_or_else(|| format!("{file}: field `version`: expected a format version number, found {}", h.version))?;
    if !(3..=4).contains(&version) {
        return Err(format!(
            "{file}: field `version`: state format version {version} is not supported (versions 3 and 4 are, written by Terraform 0.7 to 1.x)"
        ));
    }
    let lineage = h.lineage.filter(|l| !l.is_empty()).ok_or_else(|| format!("{file}: field `lineage` is missing"))?;
    let serial = h.serial.ok_or_else(|| format!("{file}: field `serial` is missing"))?;
    Ok((lineage, serial, version))
}

/// Parses a state of format version 3 or 4.
pub(crate) fn parse(file: &str, text: &str) -> Result<State, String> {
    let (_, _, version) = identity(file, text)?;
    if version == 4 { parse_v4(file, text) } else { parse_v3(file, text) }
}

fn from_json<'a, T: Deserialize<'a>>(file: &str, text: &'a str) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        // serde_json ends its messages with " at line L column C"; the position goes first.
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
        let path = e.path().to_string();
        let field = if path == "." || inner.is_syntax() || inner.is_eof() { String::new() } else { format!("field `{path}`: ") };
        let what = if inner.is_syntax() || inner.is_eof() { "invalid JSON: " } else { "" };
        format!("{file}:{}:{}: {field}{what}{message}", inner.line(), inner.column())
    })
}

// ---- version 4 ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct StateV4 {
    terraform_version: String,
    #[serde(default)]
    resources: Vec<ResourceV4>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Managed,
    Data,
}

#[derive(Deserialize)]
struct ResourceV4 {
    #[serde(default)]
    module: String,
    mode: Mode,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    provider: String,
    #[serde(default)]
    instances: Vec<InstanceV4>,
}

#[derive(Deserialize)]
struct InstanceV4 {
    #[serde(default)]
    index_key: Option<IndexKey>,
    /// Set on objects kept for `create_before_destroy` until destroyed: not the live one.
    #[serde(default)]
    deposed: Option<String>,
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
    /// The pre-0.12 flat map format (`tags.%`, `tags.Name`), still found in upgraded states.
    #[serde(default)]
    attributes_flat: Option<BTreeMap<String, String>>,
    /// Absolute resource addresses (Terraform 0.13 and later).
    #[serde(default)]
    dependencies: Vec<String>,
    /// Addresses relative to the resource's module (Terraform 0.12).
    #[serde(default)]
    depends_on: Vec<String>,
}

/// `count` instances have integer keys, `for_each` instances string keys.
enum IndexKey {
    Int(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for IndexKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IndexKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer (count) or a string (for_each)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IndexKey, E> {
                Ok(IndexKey::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IndexKey, E> {
                i64::try_from(v).map(IndexKey::Int).map_err(|_| E::custom(format!("index {v} is too large")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IndexKey, E> {
                Ok(IndexKey::Str(v.to_owned()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl IndexKey {
    fn address(&self) -> String {
        match self {
            IndexKey::Int(i) => format!("[{i}]"),
            IndexKey::Str(s) => format!("[{}]", Value::String(s.clone())),
        }
    }
}

fn parse_v4(file: &str, text: &str) -> Result<State, String> {
    let s: StateV4 = from_json(file, text)?;
    check_terraform_version(file, &s.terraform_version)?;
    let mut resources = Vec::with_capacity(s.resources.len());
    for (i, r) in s.resources.into_iter().enumerate() {
        if r.kind.is_empty() || r.name.is_empty() {
            return Err(format!("{file}: field `resources[{i}]`: `type` and `name` must not be empty"));
        }
        let module_prefix = if r.module.is_empty() { String::new() } else { format!("{}.", r.module) };
        let instances = r
            .instances
            .into_iter()
            .filter(|inst| inst.deposed.is_none())
            .map(|inst| {
                let attributes = match (inst.attributes, inst.attributes_flat) {
                    (Some(a), _) => Attributes::from_json(&a),
                    (None, Some(f)) => Attributes::from_flat(&f),
                    (None, None) => Attributes::default(),
                };
                let relative = inst.depends_on.iter().map(|d| format!("{module_prefix}{d}"));
                let dependencies = inst.dependencies.into_iter().chain(relative).collect();
                Instance { key: inst.index_key.map(|k| k.address()).unwrap_or_default(), attributes, dependencies }
            })
            .collect();
        resources.push(Resource { module: r.module, data: r.mode == Mode::Data, kind: r.kind, name: r.name, provider: r.provider, instances });
    }
    Ok(State { resources })
}

/// Format version 4 is written by Terraform 0.12 and later; anything else claiming it is not
/// a state Terraform wrote.
fn check_terraform_version(file: &str, v: &str) -> Result<(), String> {
    let mut parts = v.split(['.', '-']);
    let mut number = || parts.next().and_then(|p| p.parse::<u64>().ok());
    let (major, minor) = (number(), number());
    match (major, minor) {
        (Some(major), Some(minor)) if (major, minor) >= (0, 12) => Ok(()),
        (Some(_), Some(_)) => Err(format!(
            "{file}: field `terraform_version`: version {v} does not write state format version 4 (Terraform 0.12 and later do)"
        )),
        _ => Err(format!("{file}: field `terraform_version`: {v:?} is not a Terraform version (expected e.g. \"1.5.7\")")),
    }
}

impl Attributes {
    fn from_json(a: &Map<String, Value>) -> Self {
        let text = |k: &str| a.get(k).and_then(scalar_text);
        let mut tags = BTreeMap::new();
        // AWS and Azure call them tags (`tags_all` adds provider defaults); Google calls them labels.
        for key in ["tags_all", "tags", "labels"] {
            if let Some(Value::Object(m)) = a.get(key) {
                tags.extend(m.iter().filter_map(|(k, v)| Some((k.clone(), scalar_text(v)?))));
            }
        }
        Self::finish(text("id"), text("arn"), text("region").or_else(|| text("location")), tags)
    }

    fn from_flat(f: &BTreeMap<String, String>) -> Self {
        let text = |k: &str| f.get(k).filter(|v| !v.is_empty()).cloned();
        let mut tags = BTreeMap::new();
        for prefix in ["tags_all.", "tags.", "labels."] {
            let entries = f.range(prefix.to_owned()..).take_while(|(k, _)| k.starts_with(prefix));
            tags.extend(entries.filter(|(k, _)| k[prefix.len()..] != *"%").map(|(k, v)| (k[prefix.len()..].to_owned(), v.clone())));
        }
        Self::finish(text("id"), text("arn"), text("region").or_else(|| text("location")), tags)
    }

    fn finish(id: Option<String>, arn: Option<String>, region: Option<String>, tags: BTreeMap<String, String>) -> Self {
        // An ARN names the region of regional AWS resources: arn:aws:ec2:eu-west-3:123:instance/i-1.
        let region = region.or_else(|| arn.as_deref().and_then(|a| a.split(':').nth(3)).filter(|r| !r.is_empty()).map(str::to_owned));
        Self { id, arn, region, tags }
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---- version 3 ------------------------------------------------------------------------------

#[derive(Deserialize)]
struct StateV3 {
    #[serde(default)]
    modules: Vec<ModuleV3>,
}

#[derive(Deserialize)]
struct ModuleV3 {
    path: Vec<String>,
    #[serde(default)]
    resources: BTreeMap<String, ResourceV3>,
}

#[derive(Deserialize)]
struct ResourceV3 {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    primary: Option<PrimaryV3>,
    #[serde(default)]
    provider: String,
}

#[derive(Deserialize)]
struct PrimaryV3 {
    id: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

fn parse_v3(file: &str, text: &str) -> Result<State, String> {
    let s: StateV3 = from_json(file, text)?;
    // Instances of one resource (`aws_instance.web.0`, `aws_instance.web.1`) are separate keys
    // in version 3; they are grouped back into one resource here.
    let mut resources: Vec<Resource> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (m, module) in s.modules.into_iter().enumerate() {
        if module.path.first().map(String::as_str) != Some("root") {
            return Err(format!("{file}: field `modules[{m}].path`: expected a path starting with \"root\", found {:?}", module.path));
        }
        let module_addr: Vec<String> = module.path[1..].iter().map(|p| format!("module.{p}")).collect();
        let module_addr = module_addr.join(".");
        let prefix = if module_addr.is_empty() { String::new() } else { format!("{module_addr}.") };
        for (key, r) in module.resources {
            let Some(primary) = r.primary else { continue };
            let (data, rest) = match key.strip_prefix("data.") {
                Some(rest) => (true, rest),
                None => (false, key.as_str()),
            };
            let rest = rest.strip_prefix(&format!("{}.", r.kind)).ok_or_else(|| {
                format!("{file}: field `modules[{m}].resources.{key}`: the key does not start with its type {:?}", r.kind)
            })?;
            let (name, key_suffix) = match rest.rsplit_once('.') {
                Some((name, n)) if n.parse::<u64>().is_ok() => (name, format!("[{n}]")),
                _ => (rest, String::new()),
            };
            let mut attributes = Attributes::from_flat(&primary.attributes);
            attributes.id = Some(primary.id).filter(|i| !i.is_empty()).or(attributes.id);
            let dependencies = r.depends_on.iter().map(|d| format!("{prefix}{}", d.trim_end_matches(".*"))).collect();
            let provider = if r.provider.is_empty() {
                format!("provider.{}", r.kind.split('_').next().unwrap_or_default())
            } else {
                r.provider
            };
            let resource = Resource { module: module_addr.clone(), data, kind: r.kind, name: name.to_owned(), provider, instances: Vec::new() };
            let at = *index.entry(resource.address()).or_insert_with(|| {
                resources.push(resource);
                resources.len() - 1
            });
            resources[at].instances.push(Instance { key: key_suffix, attributes, dependencies });
        }
    }
    Ok(State { resources })
}

/// The provider's source address and short name from a provider configuration address:
/// `provider["registry.terraform.io/hashicorp/aws"].west` → (`registry.terraform.io/hashicorp/aws`, `aws`).
/// Pre-0.13 addresses (`provider.aws`, `module.x.provider.aws.west`) name legacy providers,
/// which Terraform writes as `registry.terraform.io/-/aws`.
pub(crate) fn provider_source(config_addr: &str) -> (String, String) {
    let source = if let Some((_, rest)) = config_addr.split_once("provider[\"") {
        rest.split_once("\"]").map_or(rest, |(s, _)| s).to_owned()
    } else {
        let after = config_addr.rsplit_once("provider.").map_or(config_addr, |(_, r)| r);
        let name = after.split('.').next().unwrap_or(after);
        format!("registry.terraform.io/-/{name}")
    };
    let short = source.rsplit('/').next().unwrap_or(&source).to_owned();
    (source, short)
}

/// The module instances an address is in, outermost first, each as `name` plus its key as
/// written: `module.app["e.u"].module.db[0].aws_x.y` → `app["e.u"]`, `db[0]`.
pub(crate) fn module_path(addr: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in outside_keys(addr) {
        if c == '.' {
            parts.push(&addr[start..i]);
            start = i + 1;
        }
    }
    parts.push(&addr[start..]);
    parts.chunks(2).take_while(|pair| pair.len() == 2 && pair[0] == "module").map(|pair| pair[1]).collect()
}

/// A module instance address without its instance keys: `module.app["eu"].module.db` →
/// `module.app.module.db`, as dependencies name modules.
pub(crate) fn without_keys(addr: &str) -> String {
    outside_keys(addr).map(|(_, c)| c).collect()
}

/// The characters of an address outside instance keys (`[0]`, `["a]b"]`, brackets included),
/// with their byte offsets.
fn outside_keys(addr: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut depth, mut quoted, mut escaped) = (0u32, false, false);
    addr.char_indices().filter(move |&(_, c)| {
        if depth > 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ']' if !quoted => depth -= 1,
                _ => {}
            }
            false
        } else if c == '[' {
            depth = 1;
            false
        } else {
            true
        }
    })
}
