-- Portal sessions: what the portal's cookie stands for. The cookie holds a
-- random session id; only its SHA-256 is kept, so a copy of the database
-- lets nobody take over a session. A session ends when it is revoked (sign
-- out, the user deactivated, revoked from the session list), when it has
-- not been used for the idle timeout, or at its absolute expiry, whichever
-- comes first. The idle timeout is the API's setting, applied to last_seen.
CREATE TABLE sessions (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id_hash    bytea NOT NULL CONSTRAINT sessions_id_hash_key UNIQUE
               CONSTRAINT sessions_id_hash_check CHECK (octet_length(id_hash) = 32),
    created    timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    expires    timestamptz NOT NULL,
    -- When the user last proved who they are (signed in), which a later
    -- check for a recent sign-in reads; not when the session was last used.
    auth_time  timestamptz NOT NULL,
    revoked_at timestamptz,
    -- The browser's User-Agent as it signed in, cut short, so people can
    -- tell their sessions apart.
    user_agent text NOT NULL DEFAULT '' CONSTRAINT sessions_user_agent_check CHECK (length(user_agent) <= 256)
);

-- A user's live sessions: listing them, revoking them all.
CREATE INDEX sessions_user_id_idx ON sessions (user_id) WHERE revoked_at IS NULL;
