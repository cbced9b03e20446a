-- Slack users linked to Countersign users: one Slack account per user and
-- one user per Slack account. linked_by says how the link was made: a
-- verified e-mail address Slack confirmed, or a one-time link the user
-- confirmed signed in to the portal.
CREATE TABLE slack_users (
    slack_user_id text PRIMARY KEY
                  CONSTRAINT slack_users_id_check CHECK (slack_user_id ~ '^[A-Z0-9]{1,32}$'),
    user_id       bigint NOT NULL CONSTRAINT slack_users_user_key UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    linked_by     text NOT NULL CONSTRAINT slack_users_linked_by_check CHECK (linked_by IN ('email', 'link')),
    created       timestamptz NOT NULL DEFAULT now()
);

-- One-time links a Slack user asked for (/countersign link): only the
-- SHA-256 of the token is kept; it is deleted when used.
CREATE TABLE slack_link_tokens (
    token_hash    bytea PRIMARY KEY CONSTRAINT slack_link_tokens_hash_check CHECK (length(token_hash) = 32),
    slack_user_id text NOT NULL CONSTRAINT slack_link_tokens_id_check CHECK (slack_user_id ~ '^[A-Z0-9]{1,32}$'),
    expires       timestamptz NOT NULL
);
CREATE INDEX slack_link_tokens_expires_idx ON slack_link_tokens (expires);

-- The direct message each approver got about a request, so that it is
-- updated in place when the request moves on; notification_id is the
-- notification it was posted for (a redelivery posts nothing new).
CREATE TABLE slack_messages (
    request_id bigint NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel    text NOT NULL CONSTRAINT slack_messages_channel_check CHECK (channel <> ''),
    ts         text NOT NULL CONSTRAINT slack_messages_ts_check CHECK (ts <> ''),
    notification_id text NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, user_id)
);
CREATE INDEX slack_messages_user_idx ON slack_messages (user_id);
