//! Content hashes of entities. JSON values keep their keys in the order the descriptor wrote
//! them (so entities are served as written); hashes read them through [`Sorted`], with keys in
//! byte order as before, so two descriptors that differ only in key order hash the same, and
//! hashes stored by earlier versions still match.

use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A JSON value serialized with every object's keys in byte order, without copying it.
pub struct Sorted<'a>(pub &'a Value);

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    out.serialize_entry(k, &Sorted(v))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&Sorted(v))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Hex SHA-256 of the serialized value, truncated to 128 bits (plenty for change detection).
/// Wrap JSON values in [`Sorted`] so that their key order does not count.
pub fn content_hash<T: serde::Serialize>(value: &T) -> String {
    let mut hasher = Sha256::new();
    // Writing into the hasher avoids building the JSON string.
    let _ = serde_json::to_writer(HashWriter(&mut hasher), value);
    let digest = hasher.finalize();
    hex(&digest[..16])
}

/// Bytes as lower-case hex digits (digests in names, hashes and secrets).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"b":{"d":3,"c":2},"a":1}"#).unwrap();
        assert_eq!(super::content_hash(&super::Sorted(&a)), super::content_hash(&super::Sorted(&b)));
        assert_eq!(super::content_hash(&super::Sorted(&a)).len(), 32);
        // As hashed before values kept their order: keys in byte order.
        let sorted = serde_json::to_string(&super::Sorted(&b)).unwrap();
        assert_eq!(sorted, r#"{"a":1,"b":{"c":2,"d":3}}"#);
    }
}
