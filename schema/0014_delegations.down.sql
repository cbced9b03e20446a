ALTER TABLE service_request_responses DROP COLUMN on_behalf_of;
DROP TABLE delegations;
