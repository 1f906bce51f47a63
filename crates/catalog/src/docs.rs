//! Markdown documents that sources found beside entities (READMEs, `docs/`), stored with their
//! contributions: the entity pages' Docs tab and the search index read them here.

use std::collections::HashMap;

use crate::{Catalog, IngestError};

/// A Markdown document found beside an entity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Doc {
    /// Path within its scope (`services/cart/README.md`).
    pub path: String,
    pub markdown: String,
}

/// The Markdown text of every document sources found for each of `keys` (for search).
pub async fn docs_text(catalog: &Catalog, keys: &[String]) -> Result<HashMap<String, String>, IngestError> {
    let mut out: HashMap<String, String> = HashMap::new();
    for row in catalog.store().contributions_to(keys).await? {
        let Ok(docs) = serde_json::from_value::<Vec<Doc>>(row.docs) else { continue };
        for d in docs {
            let text = out.entry(row.key.clone()).or_default();
            text.push_str(&d.markdown);
            text.push('\n');
        }
    }
    Ok(out)
}

/// Markdown documents sources found for an entity: `(source, doc)`.
pub async fn docs_of(catalog: &Catalog, key: &str) -> Result<Vec<(String, Doc)>, IngestError> {
    let rows = catalog.store().contributions_to(&[key.to_owned()]).await?;
    let mut out = Vec::new();
    for row in rows {
        if let Ok(docs) = serde_json::from_value::<Vec<Doc>>(row.docs) {
            out.extend(docs.into_iter().map(|d| (row.source.clone(), d)));
        }
    }
    Ok(out)
}
