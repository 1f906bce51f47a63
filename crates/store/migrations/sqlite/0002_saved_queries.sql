-- Saved queries: a named, described, owned query in the expression language.
create table saved_queries (
    name text primary key,
    title text not null,
    description text not null,
    owner text not null,
    query text not null,
    created_at bigint not null,
    updated_at bigint not null
);
