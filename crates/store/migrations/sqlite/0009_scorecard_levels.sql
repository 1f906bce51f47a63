-- Each entity's level on each scorecard, as it changed: one row when an entity is first scored,
-- one when its level changes, and one with level -1 when the scorecard no longer scores it.
-- Trends and answers "as of" a time read the latest row of each entity by then.
create table scorecard_levels (
    scorecard text not null,
    entity_key text not null,
    at bigint not null,
    -- Levels reached from the lowest (0: none), or -1: no longer scored.
    level integer not null,
    level_name text,
    score real not null
);
create index scorecard_levels_by_time on scorecard_levels (scorecard, at);
create index scorecard_levels_by_entity on scorecard_levels (scorecard, entity_key, at);
