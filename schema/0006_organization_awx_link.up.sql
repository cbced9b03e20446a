-- The AWX organization whose templates a Countersign organization may offer.
-- Organization admins may only put that organization's templates in their
-- catalog; without a link only superusers choose templates.
ALTER TABLE organizations ADD COLUMN awx_organization bigint;
