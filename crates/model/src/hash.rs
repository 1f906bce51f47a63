//! Content hashes of entities. Entities are serialized with sorted keys (serde_json's map is
//! ordered), so two descriptors that differ only in key order hash the same.

use sha2::{Digest, Sha256};

/// Hex SHA-256 of the serialized value, truncated to 128 bits (plenty for change detection).
pub fn content_hash<T: serde::Serialize>(value: &T) -> String {
    let mut hasher = Sha256::new();
    // Writing into the hasher avoids building the JSON string.
    let _ = serde_json::to_writer(HashWriter(&mut hasher), value);
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
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
        assert_eq!(super::content_hash(&a), super::content_hash(&b));
        assert_eq!(super::content_hash(&a).len(), 32);
    }
}
