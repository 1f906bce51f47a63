//! An ingest built chunk by chunk. A source hands over its documents a file (or a few) at a
//! time; each chunk is validated as it arrives, so a large read never holds every raw document
//! at once. Kinds declared in a chunk apply to it and to every later chunk; documents of kinds
//! not known yet wait until the end, when every declaration of the batch is known. The writer
//! lock is taken by [`Catalog::finish`] only, so a slow read never holds up other sources' writes;
//! the plan is made under the lock against the read model as it is then.

use std::time::Instant;

use portico_model::{Entity, FieldError, Validator};
use serde_json::Value;

use super::{Catalog, IngestReport, validate_parallel};
use crate::IngestError;
use crate::mutation::{RawEntity, SourceError, Validated};

/// A mutation being gathered; see the module docs.
pub struct Ingest {
    pub(super) source: String,
    pub(super) validator: Validator,
    /// Whether the batch declares kinds: then every document is validated, even unchanged ones.
    pub(super) declares_kinds: bool,
    pub(super) kind_errors: Vec<FieldError>,
    pub(super) validated: Vec<Validated>,
    pub(super) deferred: Vec<RawEntity>,
    pub(super) validate_ms: u128,
    /// `None`: a full mutation; `Some`: a delta with these removals.
    pub(super) removals: Option<Vec<String>>,
    /// Documents added so far.
    pub(super) count: usize,
    /// A location to register in the same transaction as what it provides, so that a crash
    /// between the two never leaves a registered but empty location.
    pub(super) location: Option<portico_store::LocationRecord>,
}

impl Ingest {
    /// Documents handed over so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

fn kind_of(v: &Value) -> Option<&str> {
    v.get("kind").and_then(Value::as_str)
}

/// `base` extended with the kinds the `Kind` documents among `raw` declare.
pub(super) fn extend(base: &Validator, raw: &[RawEntity]) -> Result<Validator, Vec<FieldError>> {
    with_declared_kinds(base, raw.iter().map(|r| &r.value))
}

/// `base` extended with the kinds that the valid `Kind` documents among `docs` declare (other
/// documents are ignored). Shared by ingest and `portico catalog validate`.
pub fn with_declared_kinds<'a>(
    base: &Validator,
    docs: impl IntoIterator<Item = &'a Value>,
) -> Result<Validator, Vec<FieldError>> {
    let declared: Vec<Entity> =
        docs.into_iter().filter(|v| kind_of(v) == Some("Kind")).filter_map(|v| base.validate(v.clone()).ok()).collect();
    if declared.is_empty() {
        return Ok(base.clone());
    }
    Ok(Validator::new(base.kinds().with_declared(declared.iter())?))
}

impl Catalog {
    /// Starts a full mutation for `source`.
    pub fn begin(&self, source: &str) -> Ingest {
        Ingest {
            source: source.to_owned(),
            validator: self.validator(),
            declares_kinds: false,
            kind_errors: Vec::new(),
            validated: Vec::new(),
            deferred: Vec::new(),
            validate_ms: 0,
            removals: None,
            count: 0,
            location: None,
        }
    }

    /// Registers `location` when this ingest commits (and only then).
    pub fn register_location(&self, ingest: &mut Ingest, location: portico_store::LocationRecord) {
        ingest.location = Some(location);
    }

    /// Validates a chunk of documents now (in parallel) and keeps the results.
    pub fn add(&self, ingest: &mut Ingest, raw: Vec<RawEntity>) {
        let started = Instant::now();
        ingest.count += raw.len();
        if raw.iter().any(|r| kind_of(&r.value) == Some("Kind")) {
            ingest.declares_kinds = true;
            match extend(&ingest.validator, &raw) {
                Ok(v) => ingest.validator = v,
                Err(errors) => ingest.kind_errors.extend(errors),
            }
        }
        let (now, later): (Vec<RawEntity>, Vec<RawEntity>) = raw
            .into_iter()
            .partition(|r| kind_of(&r.value).is_none_or(|k| ingest.validator.kinds().get(k).is_some()));
        ingest.deferred.extend(later);
        let validated = {
            let graph = self.read();
            let (source, declares_kinds) = (&ingest.source, ingest.declares_kinds);
            let unchanged = |key: &str, hash: &str| {
                !declares_kinds && graph.get(key).is_some_and(|e| &e.source == source && e.hash == hash && !e.orphan)
            };
            validate_parallel(&ingest.validator, now, &unchanged)
        };
        ingest.validated.extend(validated);
        ingest.validate_ms += started.elapsed().as_millis();
    }

    /// Plans the change set against what the source contributed before, writes it in one
    /// transaction and updates the read model. `complete: false` (some part of the source could
    /// not be read) means nothing is removed.
    pub async fn finish(
        &self,
        ingest: Ingest,
        source_errors: Vec<SourceError>,
        complete: bool,
    ) -> Result<IngestReport, IngestError> {
        self.finish_inner(ingest, source_errors, complete).await
    }
}
