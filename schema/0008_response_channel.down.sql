ALTER TABLE service_request_responses DROP COLUMN channel, DROP COLUMN unverified;
