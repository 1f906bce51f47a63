-- People: their sign-in sessions, sign-ins under way, and stars.
-- Server-side sessions of people signed in with OpenID Connect. The cookie holds a random
-- secret; only its SHA-256 is kept. `id` is a separate public handle (listed, revoked by).
create table sessions (
    id text primary key,
    secret_hash text not null unique,
    -- The User entity reference the sign-in mapped to.
    subject text not null,
    -- The ID token's claims, as JSON (policies read them as `user.claims`).
    claims text not null,
    created_at bigint not null,
    last_seen_at bigint not null,
    -- The absolute expiry; the idle expiry is `last_seen_at` plus the configured idle time.
    expires_at bigint not null,
    -- The provider's refresh token and ID token, and when the provider is next asked again.
    refresh_token text,
    id_token text,
    refresh_at bigint,
    address text,
    user_agent text,
    revoked_at bigint
);
create index sessions_subject on sessions (subject);

-- A sign-in under way: what the callback needs to finish it (the state is the key; the nonce
-- and the PKCE verifier never leave the server). Taken once; stale ones are removed.
create table sign_in_attempts (
    state text primary key,
    nonce text not null,
    pkce_verifier text not null,
    return_to text not null,
    created_at bigint not null
);

-- The History page asks the audit log for one entity's events.
create index audit_events_target on audit_events (target);

-- Entities a person starred (`subject` as the session or token names them; `guest` too).
create table stars (
    subject text not null,
    entity_key text not null,
    created_at bigint not null,
    primary key (subject, entity_key)
);
