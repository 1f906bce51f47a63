-- Each initiative's progress as it changed: per owner (and '' for all of it), how many of the
-- entities in scope meet the target, out of how many. One row per owner whose counts changed,
-- so burn-down charts and per-owner progress over time read the latest row by each time.
create table initiative_progress (
    initiative text not null,
    owner text not null,
    at bigint not null,
    done integer not null,
    total integer not null
);
create index initiative_progress_by_time on initiative_progress (initiative, at);
