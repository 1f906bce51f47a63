-- The audit log: who did what to which target, allowed or refused. Append-only: nothing
-- updates a row; only retention removes the oldest.
create table audit_events (
    id integer primary key autoincrement,
    at bigint not null,
    actor text not null,
    via text not null,
    -- A permission name (`catalog.location.create`).
    action text not null,
    target text,
    -- `allowed`, `denied` or `failed`.
    outcome text not null,
    status integer,
    request_id text,
    detail text
);
create index audit_events_at on audit_events (at);
create index audit_events_actor on audit_events (actor, id);
