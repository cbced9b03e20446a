-- How each decision and comment reached its request: through the API
-- ("api"), the portal ("portal") or Temporal's CLI ("cli"), and whether a
-- CLI decision came without a proof of its user (TEMPORAL_DECISIONS=trusted).
-- Responses recorded before are of unknown channel ('').
ALTER TABLE service_request_responses
    ADD COLUMN channel text NOT NULL DEFAULT '',
    ADD COLUMN unverified boolean NOT NULL DEFAULT false;
