CREATE INDEX service_requests_inbox_idx ON service_requests USING gin (pending_approvers)
    WHERE status = 'pending_approval';
DROP TRIGGER service_request_inbox_sync ON service_requests;
DROP FUNCTION service_request_inbox_sync();
DROP TABLE service_request_inbox;
