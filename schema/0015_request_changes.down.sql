-- Requests that ended changes_requested become rejected (their reason is
-- lost with the column), as the schema before knew no other ending.
DROP INDEX service_requests_parent_id_key;
ALTER TABLE service_requests DROP COLUMN parent_id, DROP COLUMN changes_requested;

UPDATE service_request_responses SET kind = 'reject' WHERE kind = 'request_changes';
ALTER TABLE service_request_responses DROP CONSTRAINT service_request_responses_kind_check;
ALTER TABLE service_request_responses ADD CONSTRAINT service_request_responses_kind_check
    CHECK (kind IN ('approve', 'reject', 'comment'));
UPDATE service_request_stages SET status = 'rejected' WHERE status = 'changes_requested';
ALTER TABLE service_request_stages DROP CONSTRAINT service_request_stages_status_check;
ALTER TABLE service_request_stages ADD CONSTRAINT service_request_stages_status_check CHECK (status IN (
    'waiting', 'pending', 'approved', 'rejected',
    'expired', 'canceled', 'skipped'));
UPDATE service_requests SET status = 'rejected' WHERE status = 'changes_requested';
ALTER TABLE service_requests DROP CONSTRAINT service_requests_status_check;
ALTER TABLE service_requests ADD CONSTRAINT service_requests_status_check CHECK (status IN (
    'pending_approval', 'approved', 'running', 'successful',
    'failed', 'rejected', 'expired', 'canceled'));
