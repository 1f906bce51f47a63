//! Measuring documents as they are built. YAML aliases replay what an anchor holds, so a small
//! file can become a huge value (1 MB of anchors became a 61 MB entity). The parser bounds how
//! many events aliases replay, not how many bytes; here every document is measured while it is
//! deserialized, and the parse stops as soon as one document passes the entity limit or the
//! whole file passes its expansion budget, before the memory is spent.

use std::cell::Cell;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Bytes counted per node on top of its text, roughly what it takes in memory.
const NODE: usize = 16;

thread_local! {
    static DOC: Cell<usize> = const { Cell::new(0) };
    static FILE: Cell<usize> = const { Cell::new(0) };
    static LIMITS: Cell<(usize, usize)> = const { Cell::new((usize::MAX, usize::MAX)) };
}

/// Runs `parse` with documents measured against `max_entity` bytes each and `file_budget`
/// bytes in all.
pub(super) fn measured<T>(max_entity: usize, file_budget: usize, parse: impl FnOnce() -> T) -> T {
    let before = LIMITS.with(|l| l.replace((max_entity, file_budget)));
    FILE.with(|f| f.set(0));
    DOC.with(|d| d.set(0));
    let out = parse();
    LIMITS.with(|l| l.set(before));
    out
}

fn charge<E: serde::de::Error>(bytes: usize) -> Result<(), E> {
    let (max_entity, file_budget) = LIMITS.with(Cell::get);
    let doc = DOC.with(|d| {
        let v = d.get().saturating_add(bytes);
        d.set(v);
        v
    });
    if doc > max_entity {
        return Err(E::custom(format!(
            "this document is over {} once its aliases are expanded; the limit for one document is {} (catalog.limits.maxEntityBytes)",
            human(max_entity),
            human(max_entity)
        )));
    }
    let file = FILE.with(|f| {
        let v = f.get().saturating_add(bytes);
        f.set(v);
        v
    });
    if file > file_budget {
        return Err(E::custom(format!(
            "the file grows past {} once its aliases are expanded, more than its limit (catalog.limits.maxAliasExpansion times its size)",
            human(file_budget)
        )));
    }
    Ok(())
}

fn human(n: usize) -> String {
    if n >= 1 << 20 { format!("{:.1} MiB", n as f64 / (1 << 20) as f64) } else { format!("{:.1} KiB", n as f64 / 1024.0) }
}

/// One document of a file: measured from zero.
pub(super) struct Sized(pub(super) Value);

impl<'de> Deserialize<'de> for Sized {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DOC.with(|c| c.set(0));
        Measured::deserialize(d).map(|m| Sized(m.0))
    }
}

/// A JSON value whose every node is counted as it is built.
struct Measured(Value);

impl<'de> Deserialize<'de> for Measured {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MeasuredVisitor)
    }
}

struct MeasuredVisitor;

impl<'de> Visitor<'de> for MeasuredVisitor {
    type Value = Measured;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Measured, E> {
        charge::<E>(NODE)?;
        Ok(Measured(Value::Bool(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Measured, E> {
        charge::<E>(NODE)?;
        Ok(Measured(Value::from(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Measured, E> {
        charge::<E>(NODE)?;
        Ok(Measured(Value::from(v)))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Measured, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => self.visit_i64(i),
            (_, Ok(u)) => self.visit_u64(u),
            _ => self.visit_f64(v as f64),
        }
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Measured, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Measured, E> {
        charge::<E>(NODE)?;
        Ok(Measured(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Measured, E> {
        charge::<E>(NODE + v.len())?;
        Ok(Measured(Value::String(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Measured, E> {
        charge::<E>(NODE + v.len())?;
        Ok(Measured(Value::String(v)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Measured, E> {
        charge::<E>(NODE)?;
        Ok(Measured(Value::Null))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Measured, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Measured, D::Error> {
        Measured::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Measured, A::Error> {
        charge::<A::Error>(NODE)?;
        let mut items = Vec::new();
        while let Some(Measured(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Measured(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measured, A::Error> {
        charge::<A::Error>(NODE)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            charge::<A::Error>(NODE + key.len())?;
            let Measured(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Measured(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_are_restored_after_a_parse() {
        let (a, b) = super::measured(10, 20, || super::LIMITS.with(std::cell::Cell::get));
        assert_eq!((a, b), (10, 20));
        assert_eq!(super::LIMITS.with(std::cell::Cell::get), (usize::MAX, usize::MAX));
    }
}
