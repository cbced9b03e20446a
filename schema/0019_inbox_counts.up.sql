-- Each user's inbox size, kept by the inbox's trigger, so that a page of
-- an inbox reads its size as one row instead of counting the user's
-- entries on every call (thousands, for an approver of a busy team).
-- Each change of a request adds its deltas in one statement, in username
-- order, so two writers never lock the same users' rows in opposite
-- orders; a user whose entry is removed and added again is not touched.
-- (No CHECK (pending >= 0): PostgreSQL checks the row an upsert proposes,
-- a removal's negative delta, before it finds the row to update.)
CREATE TABLE service_request_inbox_counts (
    username text    PRIMARY KEY,
    pending  integer NOT NULL
);

CREATE OR REPLACE FUNCTION service_request_inbox_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed text[] := '{}';
    added   text[] := '{}';
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- The entries went with the request (ON DELETE CASCADE).
        IF OLD.status = 'pending_approval' THEN
            SELECT coalesce(array_agg(DISTINCT u), '{}') INTO removed FROM unnest(OLD.pending_approvers) AS u;
        END IF;
    ELSE
        IF TG_OP = 'UPDATE' THEN
            IF NEW.status IS NOT DISTINCT FROM OLD.status
                AND NEW.pending_approvers IS NOT DISTINCT FROM OLD.pending_approvers THEN
                RETURN NULL;
            END IF;
            WITH gone AS (DELETE FROM service_request_inbox WHERE request_id = NEW.id RETURNING username)
            SELECT coalesce(array_agg(username), '{}') INTO removed FROM gone;
        END IF;
        IF NEW.status = 'pending_approval' THEN
            WITH put AS (
                INSERT INTO service_request_inbox (username, request_id)
                SELECT DISTINCT u, NEW.id FROM unnest(NEW.pending_approvers) AS u
                RETURNING username)
            SELECT coalesce(array_agg(username), '{}') INTO added FROM put;
        END IF;
    END IF;
    INSERT INTO service_request_inbox_counts AS c (username, pending)
    SELECT u, sum(d)::integer FROM (
        SELECT unnest(added) AS u, 1 AS d
        UNION ALL
        SELECT unnest(removed), -1) AS deltas
    GROUP BY u HAVING sum(d) <> 0
    ORDER BY u
    ON CONFLICT (username) DO UPDATE SET pending = c.pending + EXCLUDED.pending;
    RETURN NULL;
END
$$;

CREATE TRIGGER service_request_inbox_count_deleted
    AFTER DELETE ON service_requests
    FOR EACH ROW EXECUTE FUNCTION service_request_inbox_sync();

INSERT INTO service_request_inbox_counts (username, pending)
SELECT username, count(*) FROM service_request_inbox GROUP BY username;
