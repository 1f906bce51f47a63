//! Links that keep the current view: the query string as pairs, changed one parameter at a
//! time, and the pager built from it.

use serde::Serialize;

#[derive(Serialize)]
/// Where the previous and next pages are.
pub(crate) struct Pager {
    pub page: usize,
    pub pages: usize,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The pager of `page` among `pages`, with links made from `url` on `path`.
    pub fn new(url: &UrlState, path: &str, page: usize, pages: usize) -> Self {
        Pager {
            page,
            pages,
            prev: (page > 1).then(|| url.with(path, &[("page", Some(&(page - 1).to_string()))])),
            next: (page < pages).then(|| url.with(path, &[("page", Some(&(page + 1).to_string()))])),
        }
    }
}

/// The current query string as pairs, to rebuild links from.
pub(crate) struct UrlState(pub Vec<(String, String)>);

impl UrlState {
    /// `path?…` with each `(name, value)` set (or removed when `None`), and the page reset
    /// unless the page is what is set.
    pub fn with(&self, path: &str, set: &[(&str, Option<&str>)]) -> String {
        let paging = set.iter().any(|(n, _)| *n == "page");
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(k, _)| !set.iter().any(|(n, _)| n == k) && (paging || k != "page"))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.extend(set.iter().filter_map(|(n, v)| Some((*n, (*v)?))));
        join(path, &pairs)
    }

    /// `path?…` with `value` added to or removed from the repeated parameter `name`.
    pub fn toggled(&self, path: &str, name: &str, value: &str) -> String {
        let present = self.0.iter().any(|(k, v)| k == name && v == value);
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(k, v)| k != "page" && !(present && k == name && v == value))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if !present {
            pairs.push((name, value));
        }
        join(path, &pairs)
    }
}

pub(crate) fn join(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    format!("{path}?{}", s.finish())
}
