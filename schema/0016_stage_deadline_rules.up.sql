-- How much a stage's deadline may be extended, how long before it the
-- requester and approvers are warned, and which teams may decide the stage
-- once it waits long (its escalation steps). 0 means none.
ALTER TABLE approval_policy_stages
    ADD COLUMN max_extension_seconds bigint NOT NULL DEFAULT 0
        CONSTRAINT approval_policy_stages_max_extension_check CHECK (max_extension_seconds >= 0),
    ADD COLUMN warn_before_seconds bigint NOT NULL DEFAULT 0
        CONSTRAINT approval_policy_stages_warn_before_check CHECK (warn_before_seconds >= 0);

CREATE TABLE approval_policy_stage_escalations (
    policy_id        bigint NOT NULL,
    position         integer NOT NULL,
    -- 0-based order of the step within its stage.
    step             integer NOT NULL CONSTRAINT approval_policy_stage_escalations_step_check CHECK (step >= 0),
    after_seconds    bigint NOT NULL CONSTRAINT approval_policy_stage_escalations_after_check CHECK (after_seconds >= 1),
    -- A team of the policy's organization (checked by the store).
    approver_team_id bigint NOT NULL REFERENCES teams (id) ON DELETE RESTRICT,
    PRIMARY KEY (policy_id, position, step),
    FOREIGN KEY (policy_id, position) REFERENCES approval_policy_stages (policy_id, position) ON DELETE CASCADE
);

CREATE INDEX approval_policy_stage_escalations_team_idx ON approval_policy_stage_escalations (approver_team_id);

-- The teams a request's stage was escalated to, in order: their members may
-- decide it too, and a change of their membership concerns the request.
ALTER TABLE service_request_stages
    ADD COLUMN escalation_team_ids bigint[] NOT NULL DEFAULT '{}';
CREATE INDEX service_request_stages_escalation_team_ids_idx ON service_request_stages USING gin (escalation_team_ids);
