-- Events the tools teams already have record (deployments, incidents, custom facts), and the
-- facts recorded about entities (from those events, from imported reports, and DORA metrics).
create table events (
    -- The event's id, given by the sender: recording the same id again merges into this row.
    id text primary key,
    -- deployment, incident or fact.
    type text not null,
    entity_key text not null,
    -- The event's own time in ms (a deployment's finish or start, an incident's opening).
    at bigint not null,
    -- The event as JSON, merged from every report of this id.
    body text not null,
    recorded_at bigint not null,
    updated_at bigint not null
);
create index events_entity on events (entity_key, type, at);
create index events_type_at on events (type, at);

-- The current value of each fact of each entity: the latest by its own time wins, so a report
-- that arrives late never replaces a newer value.
create table facts (
    entity_key text not null,
    name text not null,
    -- JSON.
    value text not null,
    -- When the value held (ms), as its sender said.
    at bigint not null,
    -- What set it: an event id, `import:<format>` or `dora`.
    source text not null,
    recorded_at bigint not null,
    primary key (entity_key, name)
);
