ALTER TABLE organizations DROP COLUMN awx_organization;
