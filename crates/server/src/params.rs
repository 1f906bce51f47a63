//! Query-string parsing shared by the routes (and the web pages). The raw query is split with `form_urlencoded`
//! so repeated parameters (`filter=a&filter=b`) are all kept, as Backstage's API needs, and
//! every malformed value becomes an [`ApiError::Input`] that names the parameter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest page a client may ask for.
pub const MAX_LIMIT: usize = 10_000;
/// Cursors longer than this are not decoded.
const MAX_CURSOR_LEN: usize = 64 * 1024;

/// A request's query parameters in order, repeats kept.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    /// Every value of a parameter, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The names of the parameters given, in order, repeats kept.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// Every parameter as given, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The `filter` parameters; an empty one is an error, as in Backstage (`filter=` usually
    /// means a script built the URL from a variable that was empty).
    pub fn filters(&self) -> Result<Vec<&str>, ApiError> {
        let all = self.all("filter");
        if all.iter().any(|f| f.trim().is_empty()) {
            return Err(ApiError::Input("Empty value found for query parameter 'filter'".into()));
        }
        Ok(all)
    }

    /// The value of a parameter that may be given at most once.
    pub fn one(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.all(name).as_slice() {
            [] => Ok(None),
            [v] => Ok(Some(v)),
            _ => Err(ApiError::Input(format!("{name} must be given at most once"))),
        }
    }

    /// Comma-separated and/or repeated values (`fields=a,b&fields=c`), trimmed, empties dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.all(name)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// `limit`: an integer between 0 and [`MAX_LIMIT`].
    pub fn limit(&self) -> Result<Option<usize>, ApiError> {
        self.limit_up_to(MAX_LIMIT)
    }

    /// `limit`: an integer between 0 and `max`. Mistakes are worded as Backstage's OpenAPI
    /// validator words them (`request/query/limit must be >= 0`).
    pub fn limit_up_to(&self, max: usize) -> Result<Option<usize>, ApiError> {
        let n = self.whole("limit")?;
        match n {
            Some(n) if n > max => Err(ApiError::Input(format!("request/query/limit must be <= {max}"))),
            n => Ok(n),
        }
    }

    /// `offset`: an integer, 0 or more.
    pub fn offset(&self) -> Result<Option<usize>, ApiError> {
        self.whole("offset")
    }

    /// A whole number, 0 or more (`request/query/{name} must be integer`, `… must be >= 0`).
    fn whole(&self, name: &str) -> Result<Option<usize>, ApiError> {
        let Some(v) = self.one(name)? else { return Ok(None) };
        let v = v.trim();
        let digits = v.strip_prefix('-').unwrap_or(v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::Input(format!("request/query/{name} must be integer")));
        }
        if digits.len() != v.len() && digits.bytes().any(|b| b != b'0') {
            return Err(ApiError::Input(format!("request/query/{name} must be >= 0")));
        }
        // Beyond any size: as many as there are.
        Ok(Some(digits.parse::<usize>().unwrap_or(usize::MAX)))
    }

    /// A boolean flag (`true`/`false`, `1`/`0`, `yes`/`no`); absent or empty is `false`, as
    /// Backstage's `yn` reads it.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.one(name)?.map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "y" | "on" => Ok(true),
                "false" | "0" | "no" | "n" | "off" | "" => Ok(false),
                _ => Err(ApiError::Input(format!("{name} must be true or false, got {v:?}"))),
            },
        }
    }
}

/// Encodes a paging cursor: URL-safe base64 of its JSON. Opaque to clients.
pub(crate) fn encode_cursor<T: Serialize>(cursor: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

/// Decodes a cursor made by [`encode_cursor`]; anything else is `invalid cursor`.
/// A request's predicate query (`query` of a body or a cursor), parsed: it must be an object.
pub(crate) fn predicate(query: Option<&serde_json::Value>) -> Result<Option<portico_graph::predicate::Predicate>, ApiError> {
    match query {
        Some(q) if !q.is_object() => Err(ApiError::Input("request/body/query must be object".into())),
        Some(q) => Ok(Some(portico_graph::predicate::parse_predicate(q)?)),
        None => Ok(None),
    }
}

pub(crate) fn decode_cursor<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let invalid = || ApiError::Input("invalid cursor".to_owned());
    if raw.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_kept_in_order() {
        let q = QueryParams::parse(Some("filter=kind%3Dapi&fields=a,b&filter=x&fields=c"));
        assert_eq!(q.all("filter"), ["kind=api", "x"]);
        assert_eq!(q.list("fields"), ["a", "b", "c"]);
        assert!(q.one("filter").is_err());
    }

    #[test]
    fn limits_are_bounded_integers() {
        assert_eq!(QueryParams::parse(Some("limit=10000")).limit().unwrap(), Some(10_000));
        for (bad, want) in [
            ("limit=10001", "request/query/limit must be <= 10000"),
            ("limit=-1", "request/query/limit must be >= 0"),
            ("limit=99999999999999999999999", "request/query/limit must be <= 10000"),
        ] {
            let err = QueryParams::parse(Some(bad)).limit().unwrap_err().to_string();
            assert_eq!(err, want, "{bad}");
        }
        assert_eq!(QueryParams::parse(Some("limit=-0")).limit().unwrap(), Some(0));
        assert!(QueryParams::parse(Some("limit=ten")).limit().unwrap_err().to_string().contains("integer"));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&vec![1, 2, 3]);
        assert_eq!(decode_cursor::<Vec<i32>>(&c).unwrap(), [1, 2, 3]);
        for bad in ["", "%%%", "bm90IGpzb24", &"A".repeat(MAX_CURSOR_LEN + 1)] {
            assert_eq!(decode_cursor::<Vec<i32>>(bad).unwrap_err().to_string(), "invalid cursor");
        }
    }
}
