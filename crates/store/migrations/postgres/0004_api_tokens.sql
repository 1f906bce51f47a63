-- API tokens for CI and scripts. Only a SHA-256 of the secret is kept: the token itself is
-- shown once, when it is created.
create table api_tokens (
    id text primary key,
    name text not null,
    -- The User entity reference of a personal token; `service:<name>` for a service token.
    owner text not null,
    -- `personal` or `service`.
    kind text not null,
    -- Space-separated scopes: read, write, admin, or a capability (`locations:write`).
    scopes text not null,
    secret_hash text not null unique,
    created_at bigint not null,
    created_by text not null,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint
);
create index api_tokens_owner on api_tokens (owner);
