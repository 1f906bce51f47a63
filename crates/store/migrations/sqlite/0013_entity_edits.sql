-- Edits made to entities through the catalog's write path (a day-2 action's
-- `portico:entity:update`): a JSON merge patch per entity, applied on top of whatever its source
-- emits, every time it is ingested, so an edit survives the next read of a location and every
-- replica applies the same one.
create table entity_edits (
    entity_key text primary key,
    -- RFC 7396 merge patch (JSON): fields set, `null` removes.
    patch text not null,
    actor text not null,
    at bigint not null,
    -- Why: the run that made it, for example.
    reason text
);
