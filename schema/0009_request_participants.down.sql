DROP INDEX service_requests_participants_idx;
ALTER TABLE service_requests DROP COLUMN participants;
