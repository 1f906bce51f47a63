//! Full-text search over the catalog: a tantivy index held in memory, built from the read model
//! at start and kept current from the catalog's change feed ([`SearchIndex::follow`]).
//!
//! It answers two kinds of question. [`SearchIndex::search`] is what people type: ranked
//! (names and titles over descriptions, annotations and API definitions), typo-tolerant and
//! usable as you type, with counts per kind. [`SearchIndex::candidates`] serves Backstage's
//! `fullTextFilter`: the entities where each word of the term starts a word somewhere in the
//! descriptor, which the caller then checks for the exact substring. So the filter keeps
//! Backstage's meaning (a case-insensitive substring) for every term that begins at a word
//! boundary, and costs an index lookup plus a check of the candidates instead of a scan of
//! every field of every entity.
//!
//! The trade-off: the index lives beside the read model in RAM (tens of MiB at 100k entities)
//! and trails it by a commit (milliseconds). Until the first build finishes it is not
//! [ready](SearchIndex::is_ready), and callers fall back to scanning.

mod collect;
mod document;
mod follow;
mod query;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use portico_graph::{CatalogGraph, Id};
use portico_model::Entity;
use roaring::RoaringBitmap;
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};

use crate::collect::AllMatches;
use crate::document::{ANALYZER, Fields};

/// Memory the index writer may buffer before it writes a segment.
const WRITER_BUDGET: usize = 48 * 1024 * 1024;
/// Longest query text considered; the rest is ignored.
const MAX_QUERY_LEN: usize = 256;
/// Most words of a query considered.
const MAX_QUERY_WORDS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the search index is still being built; try again in a moment")]
    NotReady,
    #[error("search failed: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: String,
    /// Only these kinds (case-insensitive); all when empty. Counts per kind ignore this.
    pub kinds: Vec<String>,
    pub offset: usize,
    pub limit: usize,
    /// The last word may be incomplete: match it as a prefix too.
    pub typing: bool,
    /// Only these ids (the entities the reader may see); all when `None`. Counts too.
    pub visible: Option<RoaringBitmap>,
}

/// One found entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: Id,
    pub score: f32,
}

/// A page of results, best first, and the counts of all matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    /// Matches of the selected kinds.
    pub total: usize,
    /// Matches per kind (as the catalog spells it), most first, whatever kinds were selected.
    pub kinds: Vec<(String, usize)>,
}

/// The index. Share it in an `Arc`; every method takes `&self`.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// Kind ordinals: lowercased kind and its first-seen spelling.
    kinds: RwLock<Vec<(String, String)>>,
    ready: AtomicBool,
    generation: AtomicU64,
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// An entity to index: its id and key in the read model.
pub(crate) struct Indexable {
    id: Id,
    key: String,
    entity: Arc<Entity>,
    /// Written by discovery, which may have found docs for it.
    discovered: bool,
    docs: Option<String>,
}

impl SearchIndex {
    /// An empty index, not ready until [`Self::rebuild`] has run.
    pub fn new() -> Result<Self, SearchError> {
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register(ANALYZER, analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_BUDGET)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            analyzer: analyzer(),
            kinds: RwLock::default(),
            ready: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        })
    }

    /// Whether the first build has finished.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Goes up by one with every change made visible; tests wait on it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The words of a text as the index sees them.
    pub fn words(&self, text: &str) -> Vec<String> {
        let text = &text[..floor_char_boundary(text, MAX_QUERY_LEN)];
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while stream.advance() && words.len() < MAX_QUERY_WORDS {
            words.push(stream.token().text.clone());
        }
        words
    }

    fn kind_ordinal(&self, kind: &str) -> u64 {
        let lower = kind.to_ascii_lowercase();
        if let Some(i) = self.kinds.read().unwrap_or_else(|e| e.into_inner()).iter().position(|(k, _)| *k == lower) {
            return i as u64;
        }
        let mut kinds = self.kinds.write().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = kinds.iter().position(|(k, _)| *k == lower) {
            return i as u64;
        }
        kinds.push((lower, kind.to_owned()));
        (kinds.len() - 1) as u64
    }

    /// Replaces the whole index with the entities of `graph`, and marks it ready.
    pub fn rebuild(&self, graph: &CatalogGraph) -> Result<(), SearchError> {
        let all = snapshot(graph, graph.entries().map(|e| e.key.as_str()));
        self.write(all, &[], true)?;
        self.ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Re-indexes `changed` keys (as they are now in `graph`) and drops `removed` ones.
    pub fn update(&self, graph: &CatalogGraph, changed: &[String], removed: &[String]) -> Result<(), SearchError> {
        let docs = snapshot(graph, changed.iter().map(String::as_str));
        let gone: Vec<&str> = changed.iter().chain(removed).map(String::as_str).collect();
        self.write(docs, &gone, false)
    }

    fn write(&self, docs: Vec<Indexable>, gone: &[&str], everything: bool) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if everything {
            writer.delete_all_documents()?;
        }
        for key in gone {
            writer.delete_term(self.fields.key_term(key));
        }
        for d in docs {
            let kind = self.kind_ordinal(&d.entity.kind);
            writer.add_document(self.fields.document(d.id, &d.key, kind, &d.entity, d.docs.as_deref()))?;
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Ranked search. An empty text finds nothing.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, SearchError> {
        if !self.is_ready() {
            return Err(SearchError::NotReady);
        }
        let words = self.words(&req.text);
        if words.is_empty() {
            return Ok(SearchResults::default());
        }
        let whole = req.text.trim().to_lowercase();
        let query = query::ranked(&self.fields, &words, req.typing, &whole);
        let mut matches = self.reader.searcher().search(&*query, &AllMatches { scored: true })?;
        if let Some(visible) = &req.visible {
            matches.retain(|m| visible.contains(m.1));
        }

        let kinds = self.kinds.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut counts = vec![0usize; kinds.len()];
        for m in &matches {
            if let Some(c) = counts.get_mut(m.2 as usize) {
                *c += 1;
            }
        }
        if !req.kinds.is_empty() {
            let wanted: Vec<u32> = kinds
                .iter()
                .enumerate()
                .filter(|(_, (lower, _))| req.kinds.iter().any(|k| k.eq_ignore_ascii_case(lower)))
                .map(|(i, _)| i as u32)
                .collect();
            matches.retain(|m| wanted.contains(&m.2));
        }
        let total = matches.len();
        let best = |a: &collect::Match, b: &collect::Match| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let end = req.offset.saturating_add(req.limit).min(total);
        if end < total && end > 0 {
            matches.select_nth_unstable_by(end - 1, best);
            matches.truncate(end);
        }
        matches.sort_unstable_by(best);
        let hits = matches.iter().skip(req.offset).take(req.limit).map(|m| Hit { id: m.1, score: m.0 }).collect();
        let mut kinds: Vec<(String, usize)> =
            kinds.into_iter().zip(counts).filter(|(_, n)| *n > 0).map(|((_, display), n)| (display, n)).collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(SearchResults { hits, total, kinds })
    }

    /// For `fullTextFilter`: ids of the entities where every word of `term` starts a word of one
    /// same field, a superset of those containing `term` from a word boundary on. `None` when
    /// the index cannot answer (not ready, no words, a word too long to be indexed): scan then.
    pub fn candidates(&self, term: &str) -> Option<RoaringBitmap> {
        if !self.is_ready() || term.len() > MAX_QUERY_LEN {
            return None;
        }
        let words = self.words(term);
        if words.is_empty() || words.len() >= MAX_QUERY_WORDS || term.split(|c: char| !c.is_alphanumeric()).any(|w| w.len() >= 40) {
            return None;
        }
        let query = query::word_prefixes(&self.fields, &words);
        match self.reader.searcher().search(&*query, &AllMatches { scored: false }) {
            Ok(matches) => Some(matches.into_iter().map(|m| m.1).collect()),
            Err(e) => {
                tracing::warn!(error = %e, "full-text candidates failed; scanning instead");
                None
            }
        }
    }

    /// Documents in the index (for health and tests).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tantivy index, for diagnostics.
    pub fn index(&self) -> &Index {
        &self.index
    }
}

fn snapshot<'a>(graph: &CatalogGraph, keys: impl Iterator<Item = &'a str>) -> Vec<Indexable> {
    keys.filter_map(|key| {
        let id = graph.id_of(key)?;
        let entry = graph.entry(id)?;
        let discovered = entry.source == portico_catalog::DISCOVERY_SOURCE;
        Some(Indexable { id, key: entry.key.clone(), entity: entry.entity.clone(), discovered, docs: None })
    })
    .collect()
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0)
}

#[cfg(test)]
mod tests;
