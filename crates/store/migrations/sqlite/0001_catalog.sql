-- Catalog core: current entities, their relations, every version, errors, locations, sources.
-- Times are milliseconds since the Unix epoch. Keep in step with ../postgres/0001_catalog.sql.
create table entities (
    key text primary key,
    uid text not null unique,
    kind text not null,
    namespace text not null,
    name text not null,
    source text not null,
    parent text,
    orphan bigint not null default 0,
    hash text not null,
    version bigint not null,
    body text not null,
    created_at bigint not null,
    updated_at bigint not null
);
create index entities_source on entities (source);

create table relations (
    source_key text not null,
    type text not null,
    target_key text not null
);
-- Reverse lookups are served by the in-memory graph; this index serves deletes by source.
create index relations_source on relations (source_key);

create table entity_versions (
    key text not null,
    version bigint not null,
    uid text not null,
    at bigint not null,
    source text not null,
    change text not null,
    hash text,
    body text,
    primary key (key, version)
);
create index entity_versions_at on entity_versions (at);

create table entity_errors (
    source text not null,
    location text not null,
    key text,
    message text not null,
    at bigint not null
);
create index entity_errors_source on entity_errors (source);
create index entity_errors_key on entity_errors (key);

create table locations (
    id text primary key,
    type text not null,
    target text not null,
    created_at bigint not null,
    unique (type, target)
);

create table sources (
    name text primary key,
    last_run_at bigint,
    last_status text,
    last_error text,
    entity_count bigint not null default 0
);
