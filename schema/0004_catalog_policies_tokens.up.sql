-- The catalog, approval policies and API tokens; requests now refer to
-- their catalog item.

CREATE TABLE catalog_items (
    id                       bigserial PRIMARY KEY,
    -- Deleting an organization that still has items is refused rather than
    -- cascaded, as it is for its requests.
    organization_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name                     text NOT NULL CONSTRAINT catalog_items_name_check CHECK (name <> ''),
    description              text NOT NULL DEFAULT '',
    -- A lucide icon name; the portal falls back to a generic icon when empty.
    icon                     text NOT NULL DEFAULT '',
    category                 text NOT NULL DEFAULT '',
    tags                     text[] NOT NULL DEFAULT '{}',
    -- AWX ids: exactly one kind of template is launched.
    job_template_id          bigint,
    workflow_job_template_id bigint,
    requires_approval        boolean NOT NULL DEFAULT false,
    -- Null means the organization's admins approve. A team that items still
    -- name cannot be deleted: silently falling back to the admins would
    -- change who approves.
    approver_team_id         bigint REFERENCES teams (id) ON DELETE RESTRICT,
    enabled                  boolean NOT NULL DEFAULT true,
    created                  timestamptz NOT NULL DEFAULT now(),
    modified                 timestamptz NOT NULL DEFAULT now(),
    -- Also the index behind listing an organization's items by name.
    CONSTRAINT catalog_items_organization_id_name_key UNIQUE (organization_id, name),
    CONSTRAINT catalog_items_template_check
        CHECK ((job_template_id IS NULL) <> (workflow_job_template_id IS NULL))
);

CREATE INDEX catalog_items_category_idx ON catalog_items (category);
-- Tag filters use tags @> ARRAY[tag], which only a GIN index serves.
CREATE INDEX catalog_items_tags_idx ON catalog_items USING gin (tags);
-- Deleting a team checks the RESTRICT key; without this that is a full scan.
CREATE INDEX catalog_items_approver_team_idx ON catalog_items (approver_team_id)
    WHERE approver_team_id IS NOT NULL;

CREATE TABLE approval_policies (
    id              bigserial PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name            text NOT NULL CONSTRAINT approval_policies_name_check CHECK (name <> ''),
    -- Lower wins; ties go to the lower id.
    priority        integer NOT NULL DEFAULT 0,
    -- A CEL expression; empty always matches. Checked by the API on save.
    condition       text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL DEFAULT true,
    created         timestamptz NOT NULL DEFAULT now(),
    modified        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT approval_policies_organization_id_name_key UNIQUE (organization_id, name)
);

-- What every submission reads: an organization's enabled policies in the
-- order plan resolution tries them.
CREATE INDEX approval_policies_enabled_idx ON approval_policies (organization_id, priority, id)
    WHERE enabled;

CREATE TABLE approval_policy_stages (
    policy_id                 bigint NOT NULL REFERENCES approval_policies (id) ON DELETE CASCADE,
    -- 0-based order of the stage within its policy.
    position                  integer NOT NULL CONSTRAINT approval_policy_stages_position_check CHECK (position >= 0),
    name                      text NOT NULL CONSTRAINT approval_policy_stages_name_check CHECK (name <> ''),
    -- Null means the organization's admins approve. Must be a team of the
    -- policy's organization (checked by the store, which knows both).
    approver_team_id          bigint REFERENCES teams (id) ON DELETE RESTRICT,
    min_approvers             integer NOT NULL DEFAULT 1
                              CONSTRAINT approval_policy_stages_min_approvers_check CHECK (min_approvers >= 1),
    denial_message            text NOT NULL DEFAULT '',
    timeout_seconds           bigint NOT NULL DEFAULT 259200
                              CONSTRAINT approval_policy_stages_timeout_check CHECK (timeout_seconds >= 1),
    -- 0 means no reminders.
    reminder_interval_seconds bigint NOT NULL DEFAULT 86400
                              CONSTRAINT approval_policy_stages_reminder_interval_check CHECK (reminder_interval_seconds >= 0),
    PRIMARY KEY (policy_id, position)
);

CREATE INDEX approval_policy_stages_approver_team_idx ON approval_policy_stages (approver_team_id)
    WHERE approver_team_id IS NOT NULL;

CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description text NOT NULL DEFAULT '',
    -- SHA-256 of the token. The token itself is shown once and never
    -- stored, so a copy of the database lets nobody sign in.
    token_hash  bytea NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE
                CONSTRAINT api_tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    -- The first characters of the token, so its owner can tell tokens apart.
    prefix      text NOT NULL,
    created     timestamptz NOT NULL DEFAULT now(),
    last_used   timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

-- Migration 0002 could not name catalog items yet. Deleting an item that has
-- requests is refused: they are the record of what ran (disable it instead).
ALTER TABLE service_requests ADD CONSTRAINT service_requests_catalog_item_id_fkey
    FOREIGN KEY (catalog_item_id) REFERENCES catalog_items (id) ON DELETE RESTRICT;

-- "Requests I decided", for request visibility: approvals and rejections by
-- username. Comments do not make a request visible, so they are left out.
CREATE INDEX service_request_responses_decided_idx ON service_request_responses (username, request_id)
    WHERE kind IN ('approve', 'reject');

-- The requester filter by username, without resolving it to an id first.
CREATE INDEX service_requests_requester_username_idx ON service_requests (requester_username, id DESC);

-- Lists ordered by creation time (id order already has the primary key).
CREATE INDEX service_requests_created_idx ON service_requests (created, id);

-- The reconciler's scan: only requests that have not settled, walked by id
-- in batches. Finished requests leave the index, so it stays small.
CREATE INDEX service_requests_unsettled_idx ON service_requests (id)
    WHERE status IN ('pending_approval', 'approved', 'running');
