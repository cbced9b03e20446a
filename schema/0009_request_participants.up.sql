-- Who was ever asked about a request: the approvers of each stage that
-- opened, whoever decided, and everyone notified about it. They keep seeing
-- the request after it moved on (an approver reminded twice still finds it
-- once it expired). Only ever added to; it also serves request visibility,
-- in one GIN index, for what the inbox and the decisions served before.
ALTER TABLE service_requests ADD COLUMN participants text[] NOT NULL DEFAULT '{}';
UPDATE service_requests r SET participants = ARRAY(
    SELECT DISTINCT u FROM unnest(r.pending_approvers || ARRAY(
        SELECT d.username FROM service_request_responses d
        WHERE d.request_id = r.id AND d.kind IN ('approve', 'reject'))) u
    ORDER BY u);
CREATE INDEX service_requests_participants_idx ON service_requests USING gin (participants);
