ALTER TABLE service_requests DROP COLUMN extendable_until;
