//! The scorecards in force and their results, kept current with the catalog: the `Scorecard`
//! entities of the read model are compiled when they appear or change and evaluated in full;
//! after any other change, only the entities whose answers it may have changed are scored
//! again (see [`crate::evaluate::affected`]). A full evaluation of everything also runs on a
//! schedule, for rules that read the time (`recently_committed()`).

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use parking_lot::{Mutex, RwLock};
use portico_graph::eval::SharedGraph;

use crate::definition::Scorecard;
use crate::evaluate;

/// One scorecard in force and its results.
#[derive(Debug)]
pub struct Card {
    pub card: Arc<Scorecard>,
    pub scores: crate::Scores,
    /// Per rule index: entities it could not be evaluated on, and the first error.
    pub errors: Vec<(usize, usize, String)>,
    /// When the results were last brought up to date (milliseconds since the epoch).
    pub evaluated_at: i64,
}

/// A Scorecard entity that does not compile (validation refuses it at ingest; this covers one
/// stored before the rules tightened), or whose evaluation failed as a whole.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Broken {
    #[serde(rename = "ref")]
    pub reference: String,
    pub error: String,
}

#[derive(Debug, Default)]
struct State {
    cards: Vec<Arc<Card>>,
    broken: Vec<Broken>,
    /// The read model's generation the results are for.
    generation: u64,
    /// When everything was last evaluated in full.
    full_at: Option<Instant>,
}

/// What one update did.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// Scorecards evaluated in full.
    pub full: usize,
    /// Entities scored again, over the other scorecards.
    pub rescored: u64,
    pub elapsed_ms: f64,
}

/// The scorecards and their results.
pub struct Scorecards {
    graph: SharedGraph,
    state: RwLock<Arc<State>>,
    /// One update at a time.
    pub(crate) updating: Mutex<()>,
    /// How often everything is evaluated again in full.
    full_every: std::time::Duration,
}

impl Scorecards {
    pub fn new(graph: SharedGraph) -> Arc<Self> {
        Self::with_schedule(graph, std::time::Duration::from_secs(3600))
    }

    pub fn with_schedule(graph: SharedGraph, full_every: std::time::Duration) -> Arc<Self> {
        crate::register();
        let scorecards = Arc::new(Self { graph, state: RwLock::new(Arc::new(State::default())), updating: Mutex::new(()), full_every });
        // `scorecard('name')` in the expression language reads these results.
        let lookup: Arc<dyn portico_graph::ScoreLookup> = scorecards.clone();
        scorecards.graph.write().set_score_lookup(Arc::downgrade(&lookup));
        scorecards
    }

    /// The read model the scorecards are evaluated on.
    pub fn graph(&self) -> &SharedGraph {
        &self.graph
    }

    /// The scorecards in force, each with its results (a snapshot: cheap to hold).
    pub fn cards(&self) -> Vec<Arc<Card>> {
        self.state.read().cards.clone()
    }

    /// Scorecard entities left out, with why.
    pub fn broken(&self) -> Vec<Broken> {
        self.state.read().broken.clone()
    }

    /// The scorecard of a key (`scorecard:default/readiness`), `namespace/name`, or a name
    /// (`readiness`: in the default namespace, else the only one of that name).
    pub fn card(&self, name: &str) -> Option<Arc<Card>> {
        let mut lower = name.to_ascii_lowercase();
        if !lower.contains(':') && lower.contains('/') {
            lower = format!("scorecard:{lower}");
        }
        let cards = self.cards();
        cards
            .iter()
            .find(|c| c.card.key == lower)
            .or_else(|| cards.iter().find(|c| c.card.key == format!("scorecard:default/{lower}")))
            .or_else(|| {
                let mut by_name = cards.iter().filter(|c| c.card.name.eq_ignore_ascii_case(name));
                let first = by_name.next()?;
                by_name.next().is_none().then_some(first)
            })
            .cloned()
    }

    /// The read model's generation the results are for.
    pub fn generation(&self) -> u64 {
        self.state.read().generation
    }

    /// Brings the results up to date with the read model: blocking, CPU-bound work (call it
    /// off the async workers).
    pub fn update(&self) -> Update {
        let _one = self.updating.lock();
        self.update_now()
    }

    /// [`Self::update`], unless another one is running and goes on past `patience` (a full
    /// evaluation may take seconds): `None` then, and the results stay those before it.
    pub fn update_within(&self, patience: std::time::Duration) -> Option<Update> {
        let _one = self.updating.try_lock_for(patience)?;
        Some(self.update_now())
    }

    fn update_now(&self) -> Update {
        let started = Instant::now();
        let before = self.state.read().clone();
        let (generation, changed, definitions) = {
            let g = self.graph.read();
            let changed = g.changed_since(before.generation).zip(g.changed_core_since(before.generation));
            // Found through the kind index: no walk over every entity after each change.
            let definitions: Vec<(String, Arc<portico_model::Entity>, String)> = g
                .matching(Some(&scorecard_kind()))
                .iter()
                .filter_map(|id| g.entry(id))
                .filter(|e| e.entity.kind == "Scorecard")
                .map(|e| (e.key.clone(), e.entity.clone(), e.hash.clone()))
                .collect();
            (g.generation(), changed, definitions)
        };
        let full_due = before.full_at.is_none_or(|t| t.elapsed() >= self.full_every);
        if generation == before.generation && !full_due {
            return Update::default();
        }
        let now = Utc::now().fixed_offset();
        let mut update = Update::default();
        let mut cards = Vec::with_capacity(definitions.len());
        let mut broken = Vec::new();
        for (key, entity, hash) in definitions {
            let known = before.cards.iter().find(|c| c.card.key == key && c.card.hash == hash);
            let result = match known {
                // The same scorecard: only what changed, unless a full evaluation is due.
                Some(card) if !full_due => match changed.as_ref().and_then(|(touched, core)| evaluate::affected(&self.graph, &card.card, touched, core)) {
                    Some(ids) if ids.is_empty() => Ok(card.clone()),
                    Some(ids) => {
                        update.rescored += ids.len();
                        evaluate::partial(&self.graph, &card.card, &ids, now).map(|e| {
                            let mut scores = card.scores.clone();
                            for id in &e.left_out {
                                scores.remove(id);
                            }
                            for (id, s) in e.scores {
                                scores.insert(id, s);
                            }
                            Arc::new(Card { card: card.card.clone(), scores, errors: merge_errors(&card.errors, e.errors), evaluated_at: now_ms() })
                        })
                    }
                    None => self.full(card.card.clone(), now, &mut update),
                },
                Some(card) => self.full(card.card.clone(), now, &mut update),
                None => match Scorecard::from_entity(&entity, &hash) {
                    Ok(card) => self.full(Arc::new(card), now, &mut update),
                    Err(errors) => {
                        let error = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                        broken.push(Broken { reference: key.clone(), error });
                        continue;
                    }
                },
            };
            match result {
                Ok(card) => cards.push(card),
                Err(e) => {
                    tracing::error!(scorecard = %key, error = %e, "the scorecard could not be evaluated");
                    broken.push(Broken { reference: key, error: e.to_string() });
                }
            }
        }
        cards.sort_by(|a, b| a.card.key.cmp(&b.card.key));
        let full_at = if full_due { Some(Instant::now()) } else { before.full_at };
        *self.state.write() = Arc::new(State { cards, broken, generation, full_at });
        update.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        update
    }

    fn full(&self, card: Arc<Scorecard>, now: chrono::DateTime<chrono::FixedOffset>, update: &mut Update) -> Result<Arc<Card>, portico_expr::ExprError> {
        update.full += 1;
        let e = evaluate::full(&self.graph, &card, now)?;
        for (rule, n, first) in &e.errors {
            tracing::warn!(scorecard = %card.key, rule = %card.rules[*rule].id, entities = n, first = %first, "a scorecard rule could not be evaluated on some entities (they fail it)");
        }
        Ok(Arc::new(Card { card, scores: e.scores.into_iter().collect(), errors: e.errors, evaluated_at: now_ms() }))
    }
}

impl portico_graph::ScoreLookup for Scorecards {
    /// `scorecard('name')`: the entity's level (null below the first), the levels, how many it
    /// reached, its score, and the rules passed and failed, by id.
    fn result(&self, id: portico_graph::Id, scorecard: &str) -> Option<portico_expr::cel::Value> {
        let card = self.card(scorecard)?;
        let s = card.scores.get(&id)?;
        let c = &card.card;
        let ids = |passed: bool| c.rules.iter().enumerate().filter(|(i, _)| s.passed(*i) == passed).map(|(_, r)| r.id.as_str()).collect::<Vec<_>>();
        Some(portico_expr::value::from_json(&serde_json::json!({
            "scorecard": c.key,
            "level": crate::report::level_name(&card, s.reached),
            "levels": c.levels,
            "reached": s.reached,
            "score": (f64::from(s.score) * 10.0).round() / 10.0,
            "passed": ids(true),
            "failing": ids(false),
        })))
    }
}

/// A partial evaluation's errors over the last full one's: counts are not kept exactly (the
/// entities scored again may have failed before), the first error is.
fn merge_errors(before: &[(usize, usize, String)], now: Vec<(usize, usize, String)>) -> Vec<(usize, usize, String)> {
    let mut out = before.to_vec();
    for (rule, n, first) in now {
        match out.iter_mut().find(|(r, _, _)| *r == rule) {
            Some(slot) => slot.1 = slot.1.max(n),
            None => out.push((rule, n, first)),
        }
    }
    out
}

/// `kind=scorecard`, as a filter of the read model.
fn scorecard_kind() -> portico_graph::filter::EntityFilter {
    static FILTER: std::sync::OnceLock<portico_graph::filter::EntityFilter> = std::sync::OnceLock::new();
    FILTER.get_or_init(|| portico_graph::filter::parse_filter_params(&["kind=scorecard"]).ok().flatten().expect("a valid filter")).clone()
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// Keeps `scorecards` current with `catalog`: an update after every change (changes that come
/// while one runs are taken together by the next) and on the schedule.
pub fn follow(scorecards: Arc<Scorecards>, catalog: &portico_catalog::Catalog) {
    let mut events = catalog.subscribe();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            let s = scorecards.clone();
            match tokio::task::spawn_blocking(move || s.update()).await {
                Ok(u) if u.full > 0 || u.rescored > 0 => tracing::debug!(full = u.full, rescored = u.rescored, elapsed_ms = u.elapsed_ms, "scorecards updated"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "updating the scorecards failed"),
            }
            tokio::select! {
                r = events.recv() => match r {
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Take whatever else arrived meanwhile with this one.
                        while events.try_recv().is_ok() {}
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {}
            }
        }
    });
}
