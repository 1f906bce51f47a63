-- The first migration of ${{ values.name }}'s database.
CREATE TABLE IF NOT EXISTS items (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);
