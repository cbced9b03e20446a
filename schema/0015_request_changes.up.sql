-- Request changes: a third decision that ends a request changes_requested
-- (its stage too), recorded as a response of kind request_changes, with
-- what the requester is told kept beside the denial. A resubmission names
-- the request it resubmits (parent_id); a request is resubmitted at most
-- once, and a parent that is deleted leaves its resubmission unlinked.
ALTER TABLE service_requests DROP CONSTRAINT service_requests_status_check;
ALTER TABLE service_requests ADD CONSTRAINT service_requests_status_check CHECK (status IN (
    'pending_approval', 'approved', 'running', 'successful',
    'failed', 'rejected', 'expired', 'canceled', 'changes_requested'));
ALTER TABLE service_request_stages DROP CONSTRAINT service_request_stages_status_check;
ALTER TABLE service_request_stages ADD CONSTRAINT service_request_stages_status_check CHECK (status IN (
    'waiting', 'pending', 'approved', 'rejected',
    'expired', 'canceled', 'skipped', 'changes_requested'));
ALTER TABLE service_request_responses DROP CONSTRAINT service_request_responses_kind_check;
ALTER TABLE service_request_responses ADD CONSTRAINT service_request_responses_kind_check
    CHECK (kind IN ('approve', 'reject', 'comment', 'request_changes'));

ALTER TABLE service_requests
    ADD COLUMN changes_requested jsonb,
    ADD COLUMN parent_id bigint
        CONSTRAINT service_requests_parent_id_fkey REFERENCES service_requests (id) ON DELETE SET NULL
        CONSTRAINT service_requests_parent_id_check CHECK (parent_id <> id);
CREATE UNIQUE INDEX service_requests_parent_id_key ON service_requests (parent_id) WHERE parent_id IS NOT NULL;
