-- The inbox and its sizes are brought up to date as each transaction
-- commits instead of at each change of a request. A user's size is one
-- row that every request pending for them changes: changed at once, it
-- stayed locked until the writer committed, so every submission and
-- decision for a busy approver queued behind every other writer's whole
-- transaction. Deferred, it is locked only while the writer commits.
-- Within the writing transaction the inbox shows the changes only once it
-- commits; nothing reads it there.
DROP TRIGGER service_request_inbox_sync ON service_requests;
DROP TRIGGER service_request_inbox_count_deleted ON service_requests;

CREATE CONSTRAINT TRIGGER service_request_inbox_sync
    AFTER INSERT OR UPDATE OF status, pending_approvers ON service_requests
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION service_request_inbox_sync();

CREATE CONSTRAINT TRIGGER service_request_inbox_count_deleted
    AFTER DELETE ON service_requests
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION service_request_inbox_sync();
