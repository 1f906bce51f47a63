//! Queries over the index: the ranked, typo-tolerant query behind search, and the strict
//! word-prefix query that finds candidates for Backstage's `fullTextFilter`.
//!
//! Ranked: every word must match some field. A word matches exactly (scored by BM25, counted
//! twice), or within a Levenshtein distance that grows with its length (0 up to 3 characters,
//! 1 up to 7, then 2; a transposition costs one), and the last word, while the user is still
//! typing it, also as a prefix (of names, titles and tags only while it is one or two
//! characters long). Each field's weight multiplies what it contributes, so a match
//! in a name outranks one in a description; a query equal to an entity's whole name earns a
//! large bonus.

use tantivy::Term;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;

use crate::document::Fields;

/// The edits a word of this many characters may carry and still match.
pub(crate) fn typo_distance(word: &str) -> u8 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// Bonus for a query that is exactly an entity's name.
const EXACT_NAME_BOOST: f32 = 20.0;

fn boosted(q: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    Box::new(BoostQuery::new(q, boost))
}

/// The ranked query for `words` (already analyzed); `typing` treats the last word as a prefix.
pub(crate) fn ranked(fields: &Fields, words: &[String], typing: bool, whole: &str) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(words.len() + 1);
    for (i, word) in words.iter().enumerate() {
        let last = i + 1 == words.len();
        let distance = typo_distance(word);
        let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for f in fields.text() {
            let term = Term::from_field_text(f.field, word);
            let exact = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
            alternatives.push((Occur::Should, boosted(Box::new(exact), 2.0 * f.weight)));
            if distance > 0 {
                alternatives.push((Occur::Should, boosted(Box::new(FuzzyTermQuery::new(term.clone(), distance, true)), f.weight)));
            }
            // A prefix of one or two characters would match nearly everything in long fields:
            // while that short, it only looks at names, titles and tags.
            if last && typing && (word.chars().count() > 2 || f.weight >= fields.tags.weight) {
                let prefix = FuzzyTermQuery::new_prefix(term, distance, true);
                alternatives.push((Occur::Should, boosted(Box::new(prefix), 1.5 * f.weight)));
            }
        }
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
    }
    let exact_name = TermQuery::new(Term::from_field_text(fields.name_exact, whole), IndexRecordOption::Basic);
    clauses.push((Occur::Should, boosted(Box::new(exact_name), EXACT_NAME_BOOST)));
    Box::new(BooleanQuery::new(clauses))
}

/// Entities where every word is the start of a word of one same field: a superset of those
/// holding the term as a substring that begins at a word boundary (such a substring lies in one
/// value, and each value is indexed in one field), and far tighter than words spread anywhere.
pub(crate) fn word_prefixes(fields: &Fields, words: &[String]) -> Box<dyn Query> {
    let per_field = fields
        .text()
        .iter()
        .map(|f| {
            let all_words: Vec<(Occur, Box<dyn Query>)> = words
                .iter()
                .map(|word| {
                    let q: Box<dyn Query> = Box::new(FuzzyTermQuery::new_prefix(Term::from_field_text(f.field, word), 0, false));
                    (Occur::Must, q)
                })
                .collect();
            let q: Box<dyn Query> = Box::new(BooleanQuery::new(all_words));
            (Occur::Should, q)
        })
        .collect();
    Box::new(BooleanQuery::new(per_field))
}

#[cfg(test)]
mod tests {
    use super::typo_distance;

    #[test]
    fn longer_words_tolerate_more_typos() {
        assert_eq!(typo_distance("api"), 0);
        assert_eq!(typo_distance("artst"), 1);
        assert_eq!(typo_distance("artistlookup"), 2);
    }
}
