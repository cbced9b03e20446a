DROP TRIGGER service_request_inbox_count_deleted ON service_requests;

CREATE OR REPLACE FUNCTION service_request_inbox_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status IS NOT DISTINCT FROM OLD.status
            AND NEW.pending_approvers IS NOT DISTINCT FROM OLD.pending_approvers THEN
            RETURN NULL;
        END IF;
        DELETE FROM service_request_inbox WHERE request_id = NEW.id;
    END IF;
    IF NEW.status = 'pending_approval' THEN
        INSERT INTO service_request_inbox (username, request_id)
        SELECT DISTINCT u, NEW.id FROM unnest(NEW.pending_approvers) AS u;
    END IF;
    RETURN NULL;
END
$$;

DROP TABLE service_request_inbox_counts;
