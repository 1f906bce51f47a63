//! Entities as the API returns them ([`EntityView`], from the read model), optionally cut
//! down to the requested `fields`.

pub use portico_graph::EntityView;
use serde::ser::{Serialize, Serializer};
use serde_json::{Map, Value};

/// A projection: dotted paths such as `metadata.name` or `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fields(Vec<Vec<String>>);

impl Fields {
    /// `None` when no field is named (the whole entity is returned).
    pub fn parse<S: AsRef<str>>(paths: &[S]) -> Option<Self> {
        let paths: Vec<Vec<String>> = paths
            .iter()
            .map(|p| p.as_ref().trim())
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        (!paths.is_empty()).then_some(Self(paths))
    }

    /// Copies each named path that exists in `value` into a new object; absent paths are
    /// simply absent, as in Backstage.
    pub fn project(&self, value: &Value) -> Value {
        let mut out = Map::new();
        for path in &self.0 {
            let Some(found) = path.iter().try_fold(value, |v, seg| v.as_object()?.get(seg)) else { continue };
            let mut node = &mut out;
            for seg in &path[..path.len() - 1] {
                let child = node.entry(seg.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                node = child.as_object_mut().expect("just made an object");
            }
            node.insert(path[path.len() - 1].clone(), found.clone());
        }
        Value::Object(out)
    }
}

/// An [`EntityView`] with its projection, serialized whole or projected.
pub(crate) struct Rendered<'a> {
    view: &'a EntityView,
    fields: Option<&'a Fields>,
}

impl<'a> Rendered<'a> {
    pub fn of(view: &'a EntityView, fields: Option<&'a Fields>) -> Self {
        Self { view, fields }
    }
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.fields {
            None => self.view.serialize(s),
            Some(fields) => {
                let full = serde_json::to_value(self.view).map_err(serde::ser::Error::custom)?;
                fields.project(&full).serialize(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn projection_keeps_named_paths_only() {
        let v = json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"owner": "t"}});
        let f = Fields::parse(&["metadata.name", "kind", "spec.missing", "nope.deeper"]).unwrap();
        assert_eq!(f.project(&v), json!({"kind": "Component", "metadata": {"name": "a"}}));
        let f = Fields::parse(&["metadata", "metadata.name"]).unwrap();
        assert_eq!(f.project(&v), json!({"metadata": {"name": "a", "tags": ["x"]}}));
        assert_eq!(Fields::parse(&["", " "]), None);
    }
}
