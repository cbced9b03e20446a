-- The open stage's deadline while it has an extension left to give (NULL
-- otherwise), so that lists know who may extend it without the workflow.
-- Requests recorded before keep NULL until their next transition.
ALTER TABLE service_requests ADD COLUMN extendable_until timestamptz;
