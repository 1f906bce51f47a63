//! Filtering, ordering, paging and facets over the read model, with Backstage's semantics:
//! a filter is a union (`anyOf`) of intersections (`allOf`) of statements on search keys.

use std::cmp::Ordering;

use roaring::RoaringBitmap;

use crate::filter::{EntityFilter, FilterStatement};
use crate::{CatalogGraph, Id};

/// `fullTextFilter`: a case-insensitive substring match on some (or all) search keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TextFilter {
    pub term: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderField {
    pub field: String,
    pub desc: bool,
}

#[derive(Debug, Clone, Default)]
pub struct EntityQuery {
    pub filter: Option<EntityFilter>,
    /// When set, only these ids can match (e.g. the candidates a text index found).
    pub within: Option<RoaringBitmap>,
    pub text: Option<TextFilter>,
    pub order: Vec<OrderField>,
    pub offset: usize,
    pub limit: Option<usize>,
}

/// One page of results: ids in order, and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<Id>,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Facet {
    pub key: String,
    pub values: Vec<FacetValue>,
}

impl CatalogGraph {
    pub(crate) fn statement(&self, st: &FilterStatement) -> RoaringBitmap {
        self.statement_masked(st, Masked { present: &self.present, mask: None })
    }

    /// A statement as a reader sees it: a relation to an entity it may not see is no relation.
    pub(crate) fn statement_masked(&self, st: &FilterStatement, masked: Masked<'_>) -> RoaringBitmap {
        let key = st.key.to_lowercase();
        if let Some(rel) = key.strip_prefix("relations.") {
            let mut out = RoaringBitmap::new();
            let Some(rel) = self.interned_types.get(rel) else { return out };
            match &st.values {
                Some(values) => {
                    for v in values {
                        if let Some(&target) = self.ids.get(v.to_lowercase().as_str())
                            && masked.sees(target)
                            && let Some(sources) = self.rel_index.get(&(rel.clone(), target)) {
                                out.extend(sources.iter().copied());
                            }
                    }
                }
                None => {
                    for ((t, target), sources) in &self.rel_index {
                        if t == rel && masked.sees(*target) {
                            out.extend(sources.iter().copied());
                        }
                    }
                }
            }
            return out & &self.present;
        }
        match &st.values {
            Some(values) => self.fields.matching(&key, values),
            None => self.fields.with_key(&key),
        }
    }

    /// The ids that match a filter (all entities when there is none).
    pub fn matching(&self, filter: Option<&EntityFilter>) -> RoaringBitmap {
        self.matching_masked(filter, Masked { present: &self.present, mask: None })
    }

    pub(crate) fn matching_masked(&self, filter: Option<&EntityFilter>, masked: Masked<'_>) -> RoaringBitmap {
        let Some(filter) = filter else { return self.present.clone() };
        let mut any = RoaringBitmap::new();
        for all in &filter.any_of {
            let mut acc: Option<RoaringBitmap> = None;
            for st in &all.all_of {
                let set = self.statement_masked(st, masked);
                acc = Some(match acc {
                    None => set,
                    Some(a) => a & set,
                });
                if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                    break;
                }
            }
            any |= acc.unwrap_or_else(|| self.present.clone());
        }
        any
    }

    fn text_matches(&self, id: Id, term: &str, fields: &[String]) -> bool {
        if term.is_empty() {
            return true;
        }
        let Some(entry) = self.entries.get(&id) else { return false };
        let mut hit = false;
        crate::index::visit_leaves(&entry.entity, &mut |k, v| {
            if !hit
                && (fields.is_empty() || fields.iter().any(|f| f.eq_ignore_ascii_case(k)))
                && contains_ignore_case(v, term)
            {
                hit = true;
            }
        });
        hit
    }

    /// Runs a query: filter, full-text filter, order (default: by reference), offset and limit.
    pub fn query(&self, q: &EntityQuery) -> Page {
        self.query_masked(q, Masked { present: &self.present, mask: None })
    }

    /// [`Self::query`] among the entities a reader sees.
    pub(crate) fn query_masked(&self, q: &EntityQuery, masked: Masked<'_>) -> Page {
        let mut set = self.matching_masked(q.filter.as_ref(), masked);
        if let Some(within) = &q.within {
            set &= within;
        }
        masked.restrict(&mut set);
        let mut ids: Vec<Id> = match &q.text {
            Some(t) => {
                let term = t.term.trim().to_lowercase();
                let fields: Vec<String> = t.fields.iter().map(|f| f.to_lowercase()).collect();
                set.iter().filter(|id| self.text_matches(*id, &term, &fields)).collect()
            }
            None => set.iter().collect(),
        };
        let total = ids.len();
        let ranks = self.ranks();
        let rank = |id: &Id| ranks.get(*id as usize).copied().unwrap_or(u32::MAX);
        // Sort keys are computed once per candidate, not per comparison.
        let order_keys: Vec<String> = q.order.iter().map(|o| o.field.to_lowercase()).collect();
        let sort_values: rustc_hash::FxHashMap<Id, Vec<Option<String>>> = if q.order.is_empty() {
            Default::default()
        } else {
            ids.iter()
                .map(|id| {
                    let e = &self.entries[id].entity;
                    (*id, order_keys.iter().map(|k| crate::index::value_at(e, k)).collect())
                })
                .collect()
        };
        let cmp = |a: &Id, b: &Id| -> Ordering {
            for (i, o) in q.order.iter().enumerate() {
                let va = sort_values.get(a).and_then(|v| v[i].as_ref());
                let vb = sort_values.get(b).and_then(|v| v[i].as_ref());
                // Entities without the field sort last in either direction.
                let ord = match (va, vb) {
                    (Some(x), Some(y)) => {
                        let c = x.cmp(y);
                        if o.desc { c.reverse() } else { c }
                    }
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            rank(a).cmp(&rank(b))
        };
        let end = q.limit.map_or(total, |l| q.offset.saturating_add(l).min(total));
        if q.offset >= total {
            return Page { ids: Vec::new(), total };
        }
        if end < total {
            ids.select_nth_unstable_by(end, cmp);
            ids.truncate(end);
        }
        ids.sort_unstable_by(cmp);
        Page { ids: ids[q.offset..].to_vec(), total }
    }

    /// Counts of each value of each facet key among the entities matching `filter`.
    /// Values are sorted by count (descending), then value.
    pub fn facets(&self, keys: &[String], filter: Option<&EntityFilter>) -> Vec<Facet> {
        self.facets_within(keys, filter, None)
    }

    /// Like [`Self::facets`], counting only entities that are also in `within` when given.
    pub fn facets_within(&self, keys: &[String], filter: Option<&EntityFilter>, within: Option<&RoaringBitmap>) -> Vec<Facet> {
        self.facets_masked(keys, filter, within, Masked { present: &self.present, mask: None })
    }

    /// [`Self::facets_within`] among the entities a reader sees: hidden entities count for
    /// nothing, and a relation facet has no value naming one.
    pub(crate) fn facets_masked(&self, keys: &[String], filter: Option<&EntityFilter>, within: Option<&RoaringBitmap>, masked: Masked<'_>) -> Vec<Facet> {
        let mut set = self.matching_masked(filter, masked);
        if let Some(w) = within {
            set &= w;
        }
        masked.restrict(&mut set);
        keys.iter()
            .map(|key| {
                let lower = key.to_lowercase();
                let mut values: Vec<FacetValue> = Vec::new();
                if let Some(rel) = lower.strip_prefix("relations.") {
                    let mut counts: rustc_hash::FxHashMap<Id, u64> = Default::default();
                    for ((t, target), sources) in &self.rel_index {
                        if &**t == rel && masked.sees(*target) {
                            let n = sources.iter().filter(|s| set.contains(**s)).count() as u64;
                            if n > 0 {
                                *counts.entry(*target).or_default() += n;
                            }
                        }
                    }
                    values = counts
                        .into_iter()
                        .map(|(t, count)| FacetValue { value: self.display_ref_string(t), count })
                        .collect();
                } else if let Some(map) = self.fields.postings.get(lower.as_str()) {
                    for (v, p) in map {
                        let count = p.ids.intersection_len(&set);
                        if count > 0 {
                            values.push(FacetValue { value: p.original.as_deref().unwrap_or(v).to_owned(), count });
                        }
                    }
                }
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                Facet { key: key.clone(), values }
            })
            .collect()
    }
}

/// The entities a reader sees, as the queries take them: present ones outside `mask` are hidden.
#[derive(Clone, Copy)]
pub(crate) struct Masked<'a> {
    pub present: &'a RoaringBitmap,
    pub mask: Option<&'a RoaringBitmap>,
}

impl Masked<'_> {
    pub(crate) fn restrict(&self, set: &mut RoaringBitmap) {
        if let Some(m) = self.mask {
            *set &= m;
        }
    }

    /// Whether an id is seen: in the mask, or not an entity at all (a relation's target).
    pub(crate) fn sees(&self, id: Id) -> bool {
        self.mask.is_none_or(|m| m.contains(id) || !self.present.contains(id))
    }
}

/// Whether `haystack` contains `needle` (already lowercase), ignoring case, without allocating
/// for ASCII text.
fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack.to_lowercase().contains(needle)
    }
}
