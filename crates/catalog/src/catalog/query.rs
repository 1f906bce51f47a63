//! Queries in the expression language, now or as of a past time, with their results as JSON
//! items or as rows for tables and CSV. The server and the CLI both answer through here.

use portico_expr::{ExprError, Limits};
use portico_graph::eval::{self, Compiled, ExprQuery, ExprResult, SharedGraph};
use portico_graph::{EntityView, Visibility, Visible};
use serde_json::{Map, Value};

use super::gate::{QueryConfig, Refused};
use super::Catalog;
use crate::IngestError;

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The expression is wrong or hit a limit: the user's to fix.
    #[error("{0}")]
    Expr(#[from] ExprError),
    /// The catalog could not answer (bad `asOf`, store failure).
    #[error(transparent)]
    Catalog(#[from] IngestError),
    /// Too many queries are running or waiting, or the server is stopping: try again later.
    #[error("{}", refused_message(.0))]
    Refused(Refused),
}

fn refused_message(r: &Refused) -> String {
    match r {
        Refused::Busy { retry_after_secs } => format!("too many queries are running; try again in {retry_after_secs} s"),
        Refused::Stopping => "the server is stopping; try again on another replica or after it restarts".to_owned(),
    }
}

/// A query's answer.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryOutput {
    /// Entities (with their relations) when no fields were asked for, else `ref` and the fields.
    pub items: Vec<QueryItem>,
    pub total_items: usize,
    #[serde(flatten)]
    pub result: ExprResult,
    /// The time answered for, when not now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    #[serde(skip)]
    fields: Vec<String>,
    #[serde(skip)]
    group_by: Option<String>,
}

impl Catalog {
    /// How queries are admitted and limited (`queries:` in the configuration).
    pub fn query_config(&self) -> &QueryConfig {
        self.queries.config()
    }

    /// Queries evaluating now (for metrics).
    pub fn queries_running(&self) -> usize {
        self.queries.running()
    }

    /// Cancels every running query and refuses new ones: the server is stopping.
    pub fn close_queries(&self) {
        self.queries.close();
    }

    /// Runs `query` on the catalog as it is, or as it was at `as_of` (ms since the epoch),
    /// under `limits` (usually `query_config().limits()`), for a reader who sees `vis` of the
    /// graph that answers. It waits for a turn among the queries running (or is refused as
    /// busy), and stops when the returned future is dropped.
    pub async fn query(&self, query: ExprQuery, as_of: Option<i64>, limits: &Limits, vis: &Visibility) -> Result<QueryOutput, QueryError> {
        let compiled = Compiled::new(&query, limits)?;
        let ticket = self.queries.enter().await.map_err(QueryError::Refused)?;
        let cancel = ticket.cancel().clone();
        let graph: SharedGraph = match as_of {
            Some(at) => self.graph_at(at).await?,
            None => self.graph().clone(),
        };
        let now = chrono::Utc::now().fixed_offset();
        let q = query.clone();
        let vis = vis.clone();
        let (result, items) = tokio::task::spawn_blocking(move || {
            let result = eval::run_cancellable(&graph, &q, &compiled, now, &cancel, &vis)?;
            let items = items(&Visible::new(&graph.read(), &vis), &result, &q.fields);
            Ok::<_, ExprError>((result, items))
        })
        .await
        .map_err(|e| IngestError::Invalid(format!("the query stopped: {e}")))??;
        drop(ticket);
        Ok(QueryOutput {
            items,
            total_items: result.total,
            result,
            as_of: as_of.map(super::history::format_time),
            fields: query.fields,
            group_by: query.group_by,
        })
    }
}

fn items(graph: &Visible<'_>, result: &ExprResult, fields: &[String]) -> Vec<QueryItem> {
    result
        .ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let entry = graph.entry(*id)?;
            if fields.is_empty() {
                return Some(QueryItem::Entity(EntityView::of(graph, entry)));
            }
            let mut row = Map::new();
            row.insert("ref".into(), Value::String(entry.entity_ref().to_string()));
            row.extend(result.rows.get(i).cloned().unwrap_or_default());
            Some(QueryItem::Row(row))
        })
        .collect()
}

/// One answer: a whole entity with its relations when no fields were asked for, else its `ref`
/// and the fields' values.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum QueryItem {
    Entity(EntityView),
    Row(Map<String, Value>),
}

/// Columns shown for whole entities in tables and CSV.
const ENTITY_COLUMNS: &[&str] = &["kind", "namespace", "name", "type", "owner", "lifecycle"];

/// An entity's cell in one of [`ENTITY_COLUMNS`].
fn entity_cell(e: &portico_model::Entity, column: &str) -> String {
    match column {
        "kind" => e.kind.clone(),
        "namespace" => e.metadata.namespace.clone(),
        "name" => e.metadata.name.clone(),
        field => e.spec.as_ref().and_then(|s| s.get(field)).map(text).unwrap_or_default(),
    }
}

impl QueryOutput {
    /// The answer as a header and rows of text: the groups when grouped, else the items.
    pub fn rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        if let Some(groups) = &self.result.groups {
            let header = vec![self.group_by.clone().unwrap_or_else(|| "group".into()), "count".into()];
            return (header, groups.iter().map(|g| vec![text(&g.key), g.count.to_string()]).collect());
        }
        let header: Vec<String> = if self.fields.is_empty() {
            ENTITY_COLUMNS.iter().map(|h| (*h).to_owned()).collect()
        } else {
            std::iter::once("ref".to_owned()).chain(self.fields.iter().cloned()).collect()
        };
        let rows = self
            .items
            .iter()
            .map(|item| match item {
                QueryItem::Entity(view) => ENTITY_COLUMNS.iter().map(|c| entity_cell(&view.entity, c)).collect(),
                QueryItem::Row(row) => header.iter().map(|h| row.get(h).map(text).unwrap_or_default()).collect(),
            })
            .collect();
        (header, rows)
    }
}

/// A JSON value as cell text: strings bare, null empty, the rest as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl QueryOutput {
    /// The answer as an aligned text table.
    pub fn table(&self) -> String {
        let (header, rows) = self.rows();
        text_table(&header.iter().map(String::as_str).collect::<Vec<_>>(), &rows)
    }

    /// The answer as CSV (RFC 4180). A cell that a spreadsheet would read as a formula (it
    /// starts with `=`, `+`, `-`, `@`, a tab or a carriage return: entity fields are anyone's
    /// text) is prefixed with `'`, so opening the download never runs it.
    pub fn csv(&self) -> String {
        let (header, rows) = self.rows();
        csv_table(&header, &rows)
    }
}

/// A table as CSV: a header line, then the rows, every cell safe from spreadsheets' formulas.
pub fn csv_table<H: AsRef<str>, C: AsRef<str>>(header: &[H], rows: &[Vec<C>]) -> String {
    let write = || -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header.iter().map(|c| csv_cell(c.as_ref()).into_owned()))?;
        for r in rows {
            w.write_record(r.iter().map(|c| csv_cell(c.as_ref()).into_owned()))?;
        }
        Ok(w.into_inner()?)
    };
    // Writing to memory cannot fail.
    String::from_utf8(write().unwrap_or_default()).unwrap_or_default()
}

/// A cell as CSV may carry it without a spreadsheet taking it for a formula.
fn csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Columns aligned with two spaces between them, trailing spaces trimmed.
pub fn text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells.iter().enumerate().map(|(i, c)| format!("{c:<w$}", w = widths[i])).collect::<Vec<_>>().join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_quoted() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("team-a", "team-a"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(csv_cell(cell), expected, "{cell:?}");
        }
    }
}
