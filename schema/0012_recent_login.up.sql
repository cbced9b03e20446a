-- A stage may require a recent interactive sign-in of whoever decides it
-- (0: any), in policies and in the plans requests froze; a decision keeps
-- the sign-in it was judged by (NULL: none vouched for, or recorded before).
ALTER TABLE approval_policy_stages
    ADD COLUMN require_recent_login_seconds bigint NOT NULL DEFAULT 0
        CONSTRAINT approval_policy_stages_recent_login_check CHECK (require_recent_login_seconds >= 0);
ALTER TABLE service_request_stages
    ADD COLUMN require_recent_login_seconds bigint NOT NULL DEFAULT 0
        CONSTRAINT service_request_stages_recent_login_check CHECK (require_recent_login_seconds >= 0);
ALTER TABLE service_request_responses
    ADD COLUMN signed_in_at timestamptz;
