-- The approval inbox as an index of its own: one row per pending request
-- and user who may decide it, kept by a trigger from the projection's
-- status and pending_approvers, so no writer can forget it. A page of an
-- inbox (newest first) and its size are then index scans of that user's
-- rows alone, instead of bitmap scans that visit every one of the user's
-- requests twice. Rows go with their request (ON DELETE CASCADE).
CREATE TABLE service_request_inbox (
    username   text   NOT NULL,
    request_id bigint NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    PRIMARY KEY (username, request_id)
);
CREATE INDEX service_request_inbox_request_idx ON service_request_inbox (request_id);

CREATE FUNCTION service_request_inbox_sync() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER service_request_inbox_sync
    AFTER INSERT OR UPDATE OF status, pending_approvers ON service_requests
    FOR EACH ROW EXECUTE FUNCTION service_request_inbox_sync();

INSERT INTO service_request_inbox (username, request_id)
SELECT DISTINCT u, r.id FROM service_requests r, unnest(r.pending_approvers) AS u
WHERE r.status = 'pending_approval';

-- The GIN index it replaces served nothing else.
DROP INDEX service_requests_inbox_idx;
