//! The `location` source: Backstage's Location entities. A registered location (a file, a
//! directory, a glob or an `http(s)` URL) is read; every document becomes an entity; Location
//! documents are followed to their `spec.target(s)`, recursively, with cycle detection;
//! `$text`/`$json`/`$yaml` placeholders are resolved relative to their file. Each registered
//! location is its own source (`location:<id>`), so one location's failure never touches
//! another's entities.

use std::path::Path;
use std::sync::Arc;

use portico_store::{LocationRecord, Store};

use crate::mutation::{Mutation, RawEntity, SourceError};
use crate::coalesce::{Coalesce, Joined};
use crate::reader::Reader;
use crate::{Catalog, IngestError, IngestReport, now_ms};

mod edit;
mod read;
mod rules;
pub use edit::EditOutcome;
pub use read::{expand, generated_location, read};
pub use rules::{CatalogRule, CatalogRules, RuleLocation};
use read::normalize_path;

/// A location to read: `type` is `file` or `url`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct LocationSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

/// What reading a location found.
#[derive(Debug, Clone, Default)]
pub struct ReadOutcome {
    pub entities: Vec<RawEntity>,
    pub errors: Vec<SourceError>,
    /// False when some file or URL could not be read: nothing may be removed then.
    pub complete: bool,
    pub files: usize,
    /// Documents found (also when they were handed on rather than collected in `entities`).
    pub count: usize,
}

/// Where documents go as they are read: a file's worth at a time.
pub(crate) type Sink<'a> = &'a mut (dyn FnMut(Vec<RawEntity>) + Send);

/// Progress callback: (files read, entities found).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// Reads, registers, refreshes and removes locations.
#[derive(Clone)]
pub struct LocationService {
    catalog: Arc<Catalog>,
    reader: Reader,
    coalesce: Arc<Coalesce<IngestReport>>,
    rules: Arc<CatalogRules>,
}

impl LocationService {
    pub fn new(catalog: Arc<Catalog>, reader: Reader) -> Self {
        Self { catalog, reader, coalesce: Arc::default(), rules: Arc::default() }
    }

    /// With `catalog.rules`: which kinds each location may hold.
    pub fn with_rules(mut self, rules: CatalogRules) -> Self {
        self.rules = Arc::new(rules);
        self
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// The source name of a registered location.
    pub fn source_name(id: &str) -> String {
        format!("location:{id}")
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.catalog.store()
    }

    /// Normalizes a spec: file targets become absolute paths.
    pub fn normalize(spec: &LocationSpec) -> Result<LocationSpec, String> {
        match spec.kind.as_str() {
            "file" => {
                let target = spec.target.strip_prefix("file://").or_else(|| spec.target.strip_prefix("file:")).unwrap_or(&spec.target);
                let path = Path::new(target);
                let abs = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    std::env::current_dir().map_err(|e| e.to_string())?.join(path)
                };
                Ok(LocationSpec { kind: "file".into(), target: normalize_path(&abs).display().to_string() })
            }
            "url" => {
                let url = url::Url::parse(&spec.target).map_err(|e| format!("target {:?} is not a URL: {e}", spec.target))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("target {:?}: only http and https URLs are supported", spec.target));
                }
                Ok(LocationSpec { kind: "url".into(), target: url.to_string() })
            }
            other => Err(format!("unsupported location type {other:?}; expected \"file\" or \"url\"")),
        }
    }

    /// Reads a location and everything it leads to.
    pub async fn read(&self, spec: &LocationSpec, progress: Progress<'_>) -> ReadOutcome {
        read::read(&self.reader, spec, progress).await
    }

    async fn read_into(&self, spec: &LocationSpec, progress: Progress<'_>, sink: Sink<'_>) -> ReadOutcome {
        read::read_into(&self.reader, spec, progress, sink).await
    }


    /// Registers a location (or, with `dry_run`, only reads it). Returns the location, what it
    /// holds (the documents themselves only for a dry run), whether it was already registered,
    /// and the ingest report. A location where nothing could be read is refused.
    pub async fn register(
        &self,
        spec: &LocationSpec,
        dry_run: bool,
    ) -> Result<(LocationRecord, ReadOutcome, bool, Option<IngestReport>), IngestError> {
        self.register_with_progress(spec, dry_run, &|_, _| {}).await
    }

    pub async fn register_with_progress(
        &self,
        spec: &LocationSpec,
        dry_run: bool,
        progress: Progress<'_>,
    ) -> Result<(LocationRecord, ReadOutcome, bool, Option<IngestReport>), IngestError> {
        let spec = Self::normalize(spec).map_err(IngestError::Invalid)?;
        let existing = self.store().list_locations().await?.into_iter().find(|l| l.kind == spec.kind && l.target == spec.target);
        let record = existing.clone().unwrap_or_else(|| LocationRecord {
            id: uuid::Uuid::new_v4().to_string(),
            kind: spec.kind.clone(),
            target: spec.target.clone(),
            created_at: now_ms(),
        });
        let refuse = |outcome: &ReadOutcome| match outcome.errors.first() {
            // The message may already start with its location (`x.yaml: file not found`).
            Some(first) if outcome.count == 0 && first.message.starts_with(&first.location) => Err(IngestError::Invalid(first.message.clone())),
            Some(first) if outcome.count == 0 => Err(IngestError::Invalid(format!("{}: {}", first.location, first.message))),
            _ => Ok(()),
        };
        if dry_run {
            let mut outcome = read::read_registered(&self.reader, &spec, progress).await;
            refuse(&outcome)?;
            let (kept, refused) = self.rules.split(std::mem::take(&mut outcome.entities));
            outcome.entities = kept;
            outcome.errors.extend(refused);
            return Ok((record, outcome, existing.is_some(), None));
        }
        let mut ingest = self.catalog.begin(&Self::source_name(&record.id));
        let (outcome, refused) = self.read_ruled(&spec, progress, &mut ingest).await;
        refuse(&outcome)?;
        if existing.is_none() {
            // Written in the transaction that writes what it provides.
            self.catalog.register_location(&mut ingest, record.clone());
        }
        let report = self.catalog.finish(ingest, [outcome.errors.clone(), refused].concat(), outcome.complete).await?;
        // Another replica may have registered the same target meanwhile: answer with the stored one.
        let stored = self.store().list_locations().await?.into_iter().find(|l| l.kind == spec.kind && l.target == spec.target);
        let record = stored.unwrap_or(record);
        Ok((record, outcome, existing.is_some(), Some(report)))
    }

    /// Re-reads one registered location and applies what it finds, validating as it reads.
    /// Requests coalesce: every request made while a read of the same location is going is
    /// answered by the next read, which starts after it (so 200 refreshes make two reads).
    pub async fn refresh(&self, id: &str, progress: Progress<'_>) -> Result<IngestReport, IngestError> {
        match self.coalesce.run(id, || self.refresh_now(id, progress)).await {
            Joined::Ran(result) => result,
            Joined::Shared(result) => result.map_err(IngestError::Invalid),
        }
    }

    async fn refresh_now(&self, id: &str, progress: Progress<'_>) -> Result<IngestReport, IngestError> {
        let location = self.store().get_location(id).await?.ok_or_else(|| IngestError::LocationNotFound(id.to_owned()))?;
        let spec = LocationSpec { kind: location.kind.clone(), target: location.target.clone() };
        let mut ingest = self.catalog.begin(&Self::source_name(&location.id));
        let (outcome, refused) = self.read_ruled(&spec, progress, &mut ingest).await;
        self.catalog.finish(ingest, [outcome.errors, refused].concat(), outcome.complete).await
    }

    /// Reads a location into an ingest, keeping what `catalog.rules` allows; the refusals.
    async fn read_ruled(&self, spec: &LocationSpec, progress: Progress<'_>, ingest: &mut crate::Ingest) -> (ReadOutcome, Vec<crate::SourceError>) {
        let mut refused = Vec::new();
        let outcome = self
            .read_into(spec, progress, &mut |chunk| {
                let (kept, no) = self.rules.split(chunk);
                refused.extend(no);
                self.catalog.add(ingest, kept);
            })
            .await;
        (outcome, refused)
    }

    /// Re-reads every registered location.
    pub async fn refresh_all(&self) -> Result<Vec<IngestReport>, IngestError> {
        let mut reports = Vec::new();
        for l in self.store().list_locations().await? {
            reports.push(self.refresh(&l.id, &|_, _| {}).await?);
        }
        Ok(reports)
    }

    /// Unregisters a location and removes the entities it provided.
    pub async fn delete(&self, id: &str) -> Result<IngestReport, IngestError> {
        self.store().get_location(id).await?.ok_or_else(|| IngestError::LocationNotFound(id.to_owned()))?;
        let report = self
            .catalog
            .apply(Mutation::Full { source: Self::source_name(id), entities: Vec::new(), errors: Vec::new(), complete: true })
            .await?;
        self.store().delete_location(id).await?;
        Ok(report)
    }

    /// The registered location whose source provides an entity.
    pub async fn location_of(&self, key: &str) -> Result<Option<LocationRecord>, IngestError> {
        let source = self.catalog.read().get(key).map(|e| e.source.clone());
        let Some(id) = source.as_deref().and_then(|s| s.strip_prefix("location:")) else { return Ok(None) };
        Ok(self.store().get_location(id).await?)
    }
}
