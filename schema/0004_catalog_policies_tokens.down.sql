DROP INDEX service_requests_unsettled_idx;
DROP INDEX service_requests_created_idx;
DROP INDEX service_requests_requester_username_idx;
DROP INDEX service_request_responses_decided_idx;
ALTER TABLE service_requests DROP CONSTRAINT service_requests_catalog_item_id_fkey;
DROP TABLE api_tokens;
DROP TABLE approval_policy_stages;
DROP TABLE approval_policies;
DROP TABLE catalog_items;
