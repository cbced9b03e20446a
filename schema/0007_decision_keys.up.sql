-- Decision keys: what proves a decision sent through Temporal (the
-- `temporal` CLI) was made by the user it names. Only the public half of
-- each Ed25519 key is kept; the private half is shown to its owner once,
-- so a copy of the database lets nobody decide as anyone.
CREATE TABLE decision_keys (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id      text NOT NULL CONSTRAINT decision_keys_key_id_key UNIQUE
                CONSTRAINT decision_keys_key_id_check CHECK (key_id ~ '^dk_[0-9a-f]{16}$'),
    public_key  bytea NOT NULL CONSTRAINT decision_keys_public_key_check CHECK (octet_length(public_key) = 32),
    description text NOT NULL DEFAULT '',
    created     timestamptz NOT NULL DEFAULT now(),
    expires     timestamptz NOT NULL,
    last_used   timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX decision_keys_user_id_idx ON decision_keys (user_id);
