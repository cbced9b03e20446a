DROP TABLE service_request_responses;
DROP TABLE service_request_stages;
DROP TABLE service_requests;
