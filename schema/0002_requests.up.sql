-- Service requests: a projection of each request's workflow state, written
-- by the worker after every transition, so lists and the approval inbox never
-- have to ask Temporal. The workflow stays the system of record.

CREATE TABLE service_requests (
    id                 bigserial PRIMARY KEY,
    -- Requests are a record of automation that may have run: deleting an
    -- organization or a user that still has requests is refused rather than
    -- cascaded.
    organization_id    bigint NOT NULL REFERENCES organizations (id),
    -- Catalog items arrive in a later migration, which adds the foreign key.
    catalog_item_id    bigint NOT NULL,
    catalog_item_name  text NOT NULL DEFAULT '',
    requester_id       bigint NOT NULL REFERENCES users (id),
    requester_username text NOT NULL,
    justification      text NOT NULL DEFAULT '',
    -- Answers as shown to users: password answers are already "$encrypted$".
    extra_vars         jsonb NOT NULL DEFAULT '{}'
                       CONSTRAINT service_requests_extra_vars_check CHECK (jsonb_typeof(extra_vars) = 'object'),
    node_survey_data   jsonb NOT NULL DEFAULT '{}'
                       CONSTRAINT service_requests_node_survey_data_check CHECK (jsonb_typeof(node_survey_data) = 'object'),
    status             text NOT NULL DEFAULT 'pending_approval'
                       CONSTRAINT service_requests_status_check CHECK (status IN (
                           'pending_approval', 'approved', 'running', 'successful',
                           'failed', 'rejected', 'expired', 'canceled')),
    -- 0-based position of the stage that accepts decisions; null when none.
    current_stage      integer CONSTRAINT service_requests_current_stage_check CHECK (current_stage >= 0),
    -- Usernames who may decide the open stage now and have not yet.
    pending_approvers  text[] NOT NULL DEFAULT '{}',
    job_type           text CONSTRAINT service_requests_job_type_check CHECK (job_type IN ('job', 'workflow_job')),
    job_id             bigint,
    job_status         text NOT NULL DEFAULT '',
    job_url            text NOT NULL DEFAULT '',
    failure_reason     text NOT NULL DEFAULT '',
    denial             jsonb,
    -- Derived from id so it can never disagree with it; it is the Temporal
    -- workflow ID of the request.
    workflow_id        text NOT NULL GENERATED ALWAYS AS ('service-request-' || id::text) STORED
                       CONSTRAINT service_requests_workflow_id_key UNIQUE,
    -- Sequence number of the workflow transition this row reflects; a
    -- snapshot is applied only when its number is higher.
    state_seq          bigint NOT NULL DEFAULT 0,
    created            timestamptz NOT NULL DEFAULT now(),
    modified           timestamptz NOT NULL DEFAULT now(),
    finished           timestamptz,
    CONSTRAINT service_requests_job_check CHECK ((job_type IS NULL) = (job_id IS NULL))
);

-- An AWX job belongs to at most one request: the worker claims a job here
-- before it trusts that a launch it finds in AWX is its own.
CREATE UNIQUE INDEX service_requests_job_key ON service_requests (job_type, job_id)
    WHERE job_id IS NOT NULL;

-- The approval inbox: pending_approvers @> ARRAY[user] among pending
-- requests. Only pending requests are indexed, so the index stays as small as
-- the set of open decisions however many requests have finished.
CREATE INDEX service_requests_inbox_idx ON service_requests USING gin (pending_approvers)
    WHERE status = 'pending_approval';

-- Lists, newest (highest id) first.
CREATE INDEX service_requests_requester_idx ON service_requests (requester_id, id DESC);
CREATE INDEX service_requests_status_idx ON service_requests (status, id DESC);
CREATE INDEX service_requests_catalog_item_idx ON service_requests (catalog_item_id, id DESC);
CREATE INDEX service_requests_organization_idx ON service_requests (organization_id, id DESC);

CREATE TABLE service_request_stages (
    request_id                bigint NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    position                  integer NOT NULL CONSTRAINT service_request_stages_position_check CHECK (position >= 0),
    name                      text NOT NULL,
    -- Null when the stage is decided by the organization's admins, or when
    -- its team was deleted since; approver_team_name still says which it was.
    approver_team_id          bigint REFERENCES teams (id) ON DELETE SET NULL,
    approver_team_name        text NOT NULL DEFAULT '',
    min_approvers             integer NOT NULL CONSTRAINT service_request_stages_min_approvers_check CHECK (min_approvers >= 1),
    denial_message            text NOT NULL DEFAULT '',
    timeout_seconds           bigint NOT NULL CONSTRAINT service_request_stages_timeout_check CHECK (timeout_seconds >= 0),
    reminder_interval_seconds bigint NOT NULL DEFAULT 0
                              CONSTRAINT service_request_stages_reminder_interval_check CHECK (reminder_interval_seconds >= 0),
    status                    text NOT NULL DEFAULT 'waiting'
                              CONSTRAINT service_request_stages_status_check CHECK (status IN (
                                  'waiting', 'pending', 'approved', 'rejected',
                                  'expired', 'canceled', 'skipped')),
    opened_at                 timestamptz,
    deadline                  timestamptz,
    decided_at                timestamptz,
    PRIMARY KEY (request_id, position)
);

-- Deleting a team nulls its stages; without this that is a full scan.
CREATE INDEX service_request_stages_approver_team_idx ON service_request_stages (approver_team_id)
    WHERE approver_team_id IS NOT NULL;

CREATE TABLE service_request_responses (
    id             bigserial PRIMARY KEY,
    request_id     bigint NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    -- Null for comments made while no stage was open.
    stage_position integer CONSTRAINT service_request_responses_stage_position_check CHECK (stage_position >= 0),
    username       text NOT NULL,
    kind           text NOT NULL CONSTRAINT service_request_responses_kind_check CHECK (kind IN ('approve', 'reject', 'comment')),
    text           text NOT NULL DEFAULT '',
    created        timestamptz NOT NULL
);

CREATE INDEX service_request_responses_request_idx ON service_request_responses (request_id, created, id);
