-- Runs of self-service templates. A run is queued by the API, claimed by a worker on any
-- replica (a lease it renews while it runs), and its state is written after every step, so a
-- run whose worker died is taken up by another from its last finished step. Secrets are never
-- stored: parameters are the form's values, steps hold inputs and outputs with secrets masked.
create table action_runs (
    id text primary key,
    template text not null,
    -- The template as it was when the run was asked for (JSON), so a run and its resumption
    -- use the same steps even if the template changes meanwhile.
    spec text not null,
    parameters text not null,
    actor text not null,
    entity_key text,
    dry_run integer not null,
    -- queued | running | completed | failed | cancelled
    status text not null,
    created_at bigint not null,
    started_at bigint,
    finished_at bigint,
    lease_holder text,
    lease_until bigint,
    attempts integer not null default 0,
    -- The steps' reports so far (JSON list).
    steps text not null,
    output text,
    error text,
    cancel_requested integer not null default 0
);
create index action_runs_by_status on action_runs (status, created_at);
create index action_runs_by_template on action_runs (template, created_at);
create index action_runs_by_actor on action_runs (actor, created_at);
create index action_runs_by_entity on action_runs (entity_key, created_at);

-- Each run's log, line by line, as the steps wrote it (secrets masked).
create table action_run_log (
    run_id text not null,
    seq bigint not null,
    step text not null,
    at bigint not null,
    line text not null,
    primary key (run_id, seq)
);
