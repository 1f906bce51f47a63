//! Black-box tests of the HTTP API: each test starts the real server on a random port over a
//! fresh database holding Backstage's example catalog, and talks HTTP to it.

#[path = "api/helpers.rs"]
mod helpers;

#[path = "api/entities.rs"]
mod entities;

#[path = "api/query.rs"]
mod query;

#[path = "api/locations.rs"]
mod locations;

#[path = "api/bad_input.rs"]
mod bad_input;

#[path = "api/ops.rs"]
mod ops;

#[path = "api/history.rs"]
mod history;

#[path = "api/expr.rs"]
mod expr;

#[path = "api/discovery.rs"]
mod discovery;

#[path = "api/tokens.rs"]
mod tokens;

#[path = "api/permissions.rs"]
mod permissions;

#[path = "api/visibility.rs"]
mod visibility;

use helpers::{TestApp, json};
use portico_store::testing::TestDb;

/// The example catalog's kinds, as Backstage counts them (without the three APIs whose remote
/// `$text` cannot be read here: Backstage does not add them either). Locations: the eight in the
/// files and the generated one of each of the two registered locations.
pub(crate) const EXPECTED_KINDS: &[(&str, u64)] = &[
    ("User", 17),
    ("Component", 13),
    ("Location", 8 + 2),
    ("Group", 9),
    ("API", 7),
    ("Domain", 3),
    ("System", 3),
    ("AiResource", 2),
    ("Resource", 1),
];

/// Every entity of the example catalog as served: the sum of [`EXPECTED_KINDS`].
pub(crate) const EXAMPLE_ENTITIES: u64 = 65;

#[test]
fn the_example_count_is_the_sum_of_its_kinds() {
    assert_eq!(EXPECTED_KINDS.iter().map(|(_, n)| n).sum::<u64>(), EXAMPLE_ENTITIES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backstage_examples_are_served_on_every_backend() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let app = TestApp::spawn(db).await;

        let facets = json(app.get("/api/catalog/entity-facets?facet=kind").await, 200).await;
        let counts: Vec<(String, u64)> = facets["facets"]["kind"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["value"].as_str().unwrap().to_owned(), v["count"].as_u64().unwrap()))
            .collect();
        // In Backstage's order: ascending by value.
        let mut expected: Vec<(String, u64)> = EXPECTED_KINDS.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
        expected.sort();
        assert_eq!(counts, expected, "{backend}");

        let page = json(app.get("/api/catalog/entities/by-query?filter=kind=component&limit=100").await, 200).await;
        assert_eq!(page["totalItems"], 13, "{backend}");
        assert_eq!(page["items"].as_array().unwrap().len(), 13, "{backend}");

        let entity = json(app.get("/api/catalog/entities/by-name/component/default/artist-lookup").await, 200).await;
        assert_eq!(entity["metadata"]["name"], "artist-lookup", "{backend}");
        assert!(entity["relations"].as_array().is_some_and(|r| !r.is_empty()), "{backend}");
    }
}

#[path = "api/hardening.rs"]
mod hardening;

#[path = "api/conformance.rs"]
mod conformance;

#[path = "api/stars.rs"]
mod stars;

#[path = "api/events.rs"]
mod events;

#[path = "api/policy_entities.rs"]
mod policy_entities;

#[path = "api/scorecards.rs"]
mod scorecards;

#[path = "api/initiatives.rs"]
mod initiatives;

#[path = "api/actions.rs"]
mod actions;

#[path = "api/approvals.rs"]
mod approvals;

#[path = "api/catalog_actions.rs"]
mod catalog_actions;
