//! Images and names that mean a datastore (a Resource and its type) or an observability stack.

/// Well-known images and the Resource type they make.
const IMAGES: &[(&str, &str)] = &[
    ("postgres", "database"),
    ("postgresql", "database"),
    ("postgis", "database"),
    ("mysql", "database"),
    ("mariadb", "database"),
    ("mongo", "database"),
    ("mongodb", "database"),
    ("cassandra", "database"),
    ("scylla", "database"),
    ("cockroach", "database"),
    ("couchdb", "database"),
    ("clickhouse-server", "database"),
    ("neo4j", "database"),
    ("influxdb", "database"),
    ("timescaledb", "database"),
    ("spanner-emulator", "database"),
    ("dynamodb-local", "database"),
    ("documentdb", "database"),
    ("documentdb-local", "database"),
    ("redis", "cache"),
    ("redis-stack", "cache"),
    ("redis-stack-server", "cache"),
    ("valkey", "cache"),
    ("keydb", "cache"),
    ("dragonfly", "cache"),
    ("memcached", "cache"),
    ("kafka", "queue"),
    ("cp-kafka", "queue"),
    ("cp-server", "queue"),
    ("redpanda", "queue"),
    ("rabbitmq", "queue"),
    ("nats", "queue"),
    ("nats-streaming", "queue"),
    ("activemq", "queue"),
    ("activemq-artemis", "queue"),
    ("pulsar", "queue"),
    ("eclipse-mosquitto", "queue"),
    ("emqx", "queue"),
    ("nsqd", "queue"),
    ("elasticsearch", "search"),
    ("elasticsearch-oss", "search"),
    ("opensearch", "search"),
    ("solr", "search"),
    ("meilisearch", "search"),
    ("typesense", "search"),
    ("minio", "storage"),
    ("localstack", "storage"),
    ("azurite", "storage"),
    ("mssql", "database"),
    ("sqlserver", "database"),
];

/// Endings of image and folder names that mean a datastore (`piggymetrics-mongodb`,
/// `accounts-db`), with the Resource type.
const NAME_ENDINGS: &[(&str, &str)] = &[
    ("-mongodb", "database"),
    ("-mongo", "database"),
    ("-postgres", "database"),
    ("-postgresql", "database"),
    ("-mysql", "database"),
    ("-mariadb", "database"),
    ("-db", "database"),
    ("-database", "database"),
    ("-redis", "cache"),
    ("-cache", "cache"),
    ("-rabbitmq", "queue"),
    ("-kafka", "queue"),
    ("-elasticsearch", "search"),
    ("-opensearch", "search"),
];

/// The repository part of an image reference's last segment: `docker.io/library/redis:7` → `redis`.
pub(crate) fn image_base(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// Resource type of a well-known image (`mcr.microsoft.com/mssql/server` too).
pub(crate) fn resource_type(image: &str) -> Option<&'static str> {
    let base = image_base(image).to_ascii_lowercase();
    if image.contains("/mssql/") {
        return Some("database");
    }
    IMAGES.iter().find(|(name, _)| *name == base).map(|(_, t)| *t)
}

/// Images of observability stacks: folders building them are configuration, not services.
const OBSERVABILITY: &[&str] = &[
    "grafana", "prometheus", "kibana", "logstash", "logstash-oss", "fluentd", "fluent-bit", "opentelemetry-collector",
    "opentelemetry-collector-contrib", "otel-collector", "jaeger", "all-in-one", "loki", "tempo", "alertmanager", "promtail", "zipkin",
    "seq", "vector", "filebeat", "metricbeat", "telegraf", "kibana-oss", "grafana-oss",
];

/// True for an image of an observability stack (`grafana/grafana:10`, `otel/opentelemetry-collector`).
pub(crate) fn is_observability(image: &str) -> bool {
    OBSERVABILITY.contains(&image_base(image).to_ascii_lowercase().as_str())
}

/// Managed datastores whose emulators run locally (`firestore-emulator`, `pubsub`).
const EMULATED: &[(&str, &str)] =
    &[("firestore", "database"), ("datastore", "database"), ("spanner", "database"), ("bigtable", "database"), ("cosmos", "database"), ("pubsub", "queue")];

/// Resource type of a name ending like a datastore's (`auth-mongodb`, `orders-db`) or naming
/// an emulated managed datastore (`firestore-emulator`).
pub(crate) fn resource_type_of_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    NAME_ENDINGS
        .iter()
        .find(|(end, _)| lower.ends_with(end) && lower.len() > end.len())
        .or_else(|| EMULATED.iter().find(|(word, _)| lower.split(['-', '_', '.']).any(|w| w == *word)))
        .map(|(_, t)| *t)
}
