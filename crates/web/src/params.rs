//! The pages' query strings: the API's parser ([`QueryParams`]), with the checks every page
//! shares. Unknown parameters are refused rather than ignored, so a mistyped filter in a
//! shared link says so instead of silently showing everything.

use portico_server::params::QueryParams;

use crate::error::PageError;

/// The largest page number any listing accepts (beyond it, nothing could be shown anyway).
pub(crate) const MAX_PAGE: usize = 100_000;

pub(crate) struct Params(pub QueryParams);

impl Params {
    /// The parameters of `raw`, refusing any not in `known` (naming them and what is accepted).
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Self, PageError> {
        let params = QueryParams::parse(raw);
        let mut unknown: Vec<&str> = params.names().filter(|n| !known.contains(n)).collect();
        unknown.dedup();
        if unknown.is_empty() {
            return Ok(Self(params));
        }
        Err(PageError::BadRequest(format!(
            "unknown parameter{} {}; this page accepts {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
            known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )))
    }

    pub fn one(&self, name: &str) -> Result<Option<&str>, PageError> {
        Ok(self.0.one(name)?.map(str::trim).filter(|v| !v.is_empty()))
    }

    /// Every non-empty value of a repeated (or comma-separated) parameter.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0.list(name)
    }

    /// A whole number in `min..=max`, or `default` when absent.
    pub fn number(&self, name: &str, min: usize, max: usize, default: usize) -> Result<usize, PageError> {
        let Some(v) = self.one(name)? else { return Ok(default) };
        match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(PageError::BadRequest(format!("`{name}` must be a whole number from {min} to {max}, not {v:?}"))),
        }
    }

    /// `page`: 1 or more (default 1).
    pub fn page(&self) -> Result<usize, PageError> {
        self.number("page", 1, MAX_PAGE, 1)
    }
}

/// Refuses a page beyond the last one, pointing at the last.
pub(crate) fn check_page(page: usize, total: usize, size: usize) -> Result<(), PageError> {
    let last = total.div_ceil(size).max(1);
    if page > last {
        return Err(PageError::BadRequest(format!(
            "page {page} is past the end: there {} {last} page{} of results",
            if last == 1 { "is" } else { "are" },
            if last == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_parameters_are_named() {
        let err = Params::parse(Some("kind=api&colour=red"), &["kind", "page"]).err().unwrap().to_string();
        assert!(err.starts_with("unknown parameter `colour`; this page accepts `kind`, `page`"), "{err}");
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(Params::parse(Some("page=3"), &["page"]).unwrap().page().unwrap(), 3);
        for bad in ["page=0", "page=-1", "page=99999999999999999999", "page=x"] {
            assert!(Params::parse(Some(bad), &["page"]).unwrap().page().is_err(), "{bad}");
        }
        assert!(check_page(3, 40, 20).is_err());
        assert!(check_page(1, 0, 20).is_ok());
    }
}
