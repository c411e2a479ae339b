-- The authorization server's registry: APIs (audiences) with their scopes,
-- machine-to-machine clients, and which scopes each client holds for which API.
CREATE TABLE apis (
    identifier      TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    -- Space-separated, as in the scope claim (RFC 6749 section 3.3).
    scopes          TEXT NOT NULL,
    token_lifetime  INTEGER NOT NULL CHECK (token_lifetime > 0),
    created_at      TEXT NOT NULL
);

CREATE TABLE clients (
    client_id       TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    secret_sha256   BLOB NOT NULL CHECK (length(secret_sha256) = 32),
    created_at      TEXT NOT NULL
);

CREATE TABLE client_grants (
    client_id       TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience        TEXT NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    PRIMARY KEY (client_id, audience)
);
