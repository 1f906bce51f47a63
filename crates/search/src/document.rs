//! The index's schema and how an entity becomes a document: its fields of text, each with a
//! weight in ranking, plus the read model's id and the kind as fast fields (results are read
//! from those columns, never from a document store, which this index does not have).

use portico_graph::Id;
use portico_model::Entity;
use tantivy::schema::{FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{TantivyDocument, Term};

/// The analyzer of every text field: words split at anything not alphanumeric, lowercased,
/// folded to ASCII, words of 40 bytes or more dropped.
pub(crate) const ANALYZER: &str = "portico";

/// The fields of text and their weight in ranking: names and titles count most.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextField {
    pub field: Field,
    pub weight: f32,
}

#[derive(Debug, Clone)]
pub(crate) struct Fields {
    /// The entity's key (`kind:namespace/name`), to replace or delete its document.
    pub key: Field,
    /// The whole name, lowercased, for the exact-name bonus.
    pub name_exact: Field,
    /// The read model's id (fast field).
    pub id: Field,
    /// The kind's ordinal in [`crate::SearchIndex`]'s kind table (fast field).
    pub kind: Field,
    pub name: TextField,
    pub title: TextField,
    pub tags: TextField,
    pub description: TextField,
    pub annotations: TextField,
    pub definition: TextField,
    /// README and docs/ pages discovery found.
    pub docs: TextField,
    /// Every other value of the descriptor (owner, type, system, links, …).
    pub rest: TextField,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut t = |name: &str, weight: f32| TextField { field: b.add_text_field(name, text.clone()), weight };
        let (name, title, tags, description) = (t("name", 6.0), t("title", 4.0), t("tags", 2.5), t("description", 1.5));
        let (annotations, definition, docs, rest) = (t("annotations", 0.6), t("definition", 0.5), t("docs", 0.45), t("rest", 0.4));
        let fields = Fields {
            key: b.add_text_field("key", STRING),
            name_exact: b.add_text_field("name_exact", STRING),
            id: b.add_u64_field("id", FAST),
            kind: b.add_u64_field("kind", FAST),
            name,
            title,
            tags,
            description,
            annotations,
            definition,
            docs,
            rest,
        };
        (b.build(), fields)
    }

    /// Every field of text, most important first.
    pub fn text(&self) -> [TextField; 8] {
        [self.name, self.title, self.tags, self.description, self.annotations, self.definition, self.docs, self.rest]
    }

    pub fn key_term(&self, key: &str) -> Term {
        Term::from_field_text(self.key, key)
    }

    /// The document of one entity.
    pub fn document(&self, id: Id, key: &str, kind: u64, entity: &Entity, docs_text: Option<&str>) -> TantivyDocument {
        let mut texts: [String; 8] = Default::default();
        let [name, title, tags, description, annotations, definition, docs, rest] = &mut texts;
        if let Some(text) = docs_text {
            docs.push_str(text);
        }
        let push = |s: &mut String, v: &str| {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(v);
        };
        let mut previous = String::new();
        portico_graph::visit_leaves(entity, &mut |path, value| {
            // `path.<item> = true` repeats a list item as a key: nothing to search for.
            let repeats_item = value == "true" && path.len() > previous.len() && path.ends_with(previous.as_str())
                && path.as_bytes()[path.len() - previous.len() - 1] == b'.';
            previous.clear();
            previous.push_str(value);
            if repeats_item {
                return;
            }
            let labelled = path.strip_prefix("metadata.annotations.").or_else(|| path.strip_prefix("metadata.labels."));
            if let Some(label) = labelled {
                push(annotations, label);
                push(annotations, value);
                return;
            }
            match path {
                "metadata.name" => push(name, value),
                "metadata.title" | "spec.profile.displayName" => push(title, value),
                "metadata.description" => push(description, value),
                "metadata.tags" => push(tags, value),
                "spec.definition" => push(definition, value),
                "metadata.uid" | "metadata.etag" => {}
                _ => push(rest, value),
            }
        });
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, key);
        doc.add_text(self.name_exact, entity.metadata.name.to_lowercase());
        doc.add_u64(self.id, u64::from(id));
        doc.add_u64(self.kind, kind);
        for (f, text) in self.text().iter().zip(texts) {
            if !text.is_empty() {
                doc.add_text(f.field, text);
            }
        }
        doc
    }
}
