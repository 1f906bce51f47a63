//! `portico query '<expression>'`: a query in the expression language over the local catalog,
//! now or as of a time, printed as a table, JSON or CSV.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use portico_catalog::{parse_time, QueryError};
use portico_graph::eval::{ExprQuery, OrderBy};

use super::catalog::open;
use crate::config::Config;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
pub struct QueryArgs {
    /// The condition, e.g. "kind == 'Component' && reachable('dependsOn').exists(e, e.ref == 'resource:default/db')".
    #[arg(required_unless_present = "saved")]
    expression: Option<String>,
    /// A field or expression to show per entity; repeat for more columns.
    #[arg(long = "field", short = 'f')]
    fields: Vec<String>,
    /// An expression to order by; repeat for ties. Prefix with `desc:` for descending order.
    #[arg(long)]
    order_by: Vec<String>,
    /// Count matching entities per value of this expression instead of listing them.
    #[arg(long)]
    group_by: Option<String>,
    /// Most rows to show.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Rows to skip (for paging).
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Answer as the catalog was at this RFC 3339 time.
    #[arg(long)]
    as_of: Option<String>,
    /// Run a saved query instead of an expression.
    #[arg(long, conflicts_with_all = ["expression", "fields", "order_by", "group_by"])]
    saved: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

pub async fn query(config: Config, remote: Option<&crate::remote::Remote>, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let as_of = args.as_of.as_deref().map(|t| parse_time("--as-of", t)).transpose().map_err(anyhow::Error::msg)?;
    if let Some(remote) = remote {
        return query_remote(remote, args).await;
    }
    let (catalog, _) = open(&config).await?;
    let query = match &args.saved {
        Some(name) => {
            let saved = catalog.store().get_saved_query(name).await?.with_context(|| format!("no saved query named {name:?}"))?;
            let mut q: ExprQuery = serde_json::from_value(saved.query).with_context(|| format!("saved query {name} no longer reads"))?;
            q.offset = args.offset;
            q.limit = args.limit;
            q
        }
        None => ExprQuery {
            expression: args.expression.unwrap_or_default(),
            fields: args.fields,
            order_by: order_by(&args.order_by),
            group_by: args.group_by,
            offset: args.offset,
            limit: args.limit,
        },
    };
    let limits = catalog.query_config().limits();
    let output = match catalog.query(query, as_of, &limits, &portico_graph::Visibility::all()).await {
        Ok(o) => o,
        Err(QueryError::Expr(e)) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e @ QueryError::Refused(_)) => return Err(anyhow::anyhow!("{e}")),
        Err(QueryError::Catalog(e)) => return Err(e.into()),
    };
    for w in &output.result.warnings {
        eprintln!("warning: {w}");
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&output)?),
        Format::Csv => print!("{}", output.csv()),
        Format::Table => println!("{}", output.table()),
    }
    let plan = &output.result.plan;
    let how = if plan.indexed.is_empty() { "a full scan".to_owned() } else { format!("indexes: {}", plan.indexed.join(", ")) };
    eprintln!(
        "{} matched; showing {}; {} evaluated ({how}) in {:.1} ms",
        output.total_items,
        output.items.len(),
        plan.evaluated,
        plan.elapsed_ms
    );
    Ok(ExitCode::SUCCESS)
}

/// `--order-by` values: an expression, `desc:` first for descending order.
fn order_by(values: &[String]) -> Vec<OrderBy> {
    values
        .iter()
        .map(|o| match o.strip_prefix("desc:") {
            Some(e) => OrderBy { expression: e.trim().to_owned(), desc: true },
            None => OrderBy { expression: o.trim().to_owned(), desc: false },
        })
        .collect()
}

/// The query asked of a server (`POST /api/v1/query`, or a saved query's run), answered in the
/// format asked: the server renders tables and CSV as this command does.
async fn query_remote(remote: &crate::remote::Remote, args: QueryArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Table => "table",
    };
    let (path, body) = match &args.saved {
        Some(name) => (
            format!("/api/v1/queries/{}/run?format={format}", form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()),
            serde_json::json!({"limit": args.limit, "asOf": args.as_of}),
        ),
        None => (
            format!("/api/v1/query?format={format}"),
            serde_json::json!({
                "expression": args.expression.unwrap_or_default(),
                "fields": args.fields,
                "orderBy": order_by(&args.order_by),
                "groupBy": args.group_by,
                "limit": args.limit,
                "offset": args.offset,
                "asOf": args.as_of,
            }),
        ),
    };
    let text = remote.send(reqwest::Method::POST, &path, Some(&body)).await?;
    match args.format {
        Format::Json => println!("{text}"),
        _ => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
