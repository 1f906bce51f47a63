-- Who made each change: the person or token a request came from (`user:default/ada`,
-- `service:deployer`), `cli` for the command line; null for the system's own reads (location
-- refreshes on a timer, discovery runs), which the version's `source` names.
alter table entity_versions add column actor text;
