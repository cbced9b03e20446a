ALTER TABLE service_requests DROP COLUMN launch_attempted_at;
