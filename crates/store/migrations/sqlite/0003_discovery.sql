-- Discovery: what each source says about each entity (its contribution), the merged entities'
-- per-field provenance, the runs of each source, and leases that share scheduled work out
-- among replicas.
create table discovery_contributions (
    source text not null,
    key text not null,
    scope text not null,
    evidence text not null,
    location text not null,
    document text not null,
    docs text not null,
    hash text not null,
    updated_at bigint not null,
    primary key (source, key, evidence)
);
create index discovery_contributions_key on discovery_contributions (key);

create table discovery_provenance (
    key text primary key,
    fields text not null,
    updated_at bigint not null
);

create table discovery_runs (
    id integer primary key,
    source text not null,
    trigger text not null,
    started_at bigint not null,
    finished_at bigint not null,
    status text not null,
    added bigint not null,
    updated bigint not null,
    removed bigint not null,
    unchanged bigint not null,
    errors text not null,
    state text
);
create index discovery_runs_source on discovery_runs (source, id);

create table leases (
    name text primary key,
    holder text not null,
    expires_at bigint not null
);
