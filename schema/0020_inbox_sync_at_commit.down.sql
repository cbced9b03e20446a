DROP TRIGGER service_request_inbox_sync ON service_requests;
DROP TRIGGER service_request_inbox_count_deleted ON service_requests;

CREATE TRIGGER service_request_inbox_sync
    AFTER INSERT OR UPDATE OF status, pending_approvers ON service_requests
    FOR EACH ROW EXECUTE FUNCTION service_request_inbox_sync();

CREATE TRIGGER service_request_inbox_count_deleted
    AFTER DELETE ON service_requests
    FOR EACH ROW EXECUTE FUNCTION service_request_inbox_sync();
