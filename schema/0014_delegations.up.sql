-- Delegations (out of office): from starts until ends, the delegate may
-- decide wherever the delegator may. A delegation goes with either user;
-- created_by (who set it up: the delegator, an org admin or a superuser)
-- is kept only as long as that account exists.
CREATE TABLE delegations (
    id         bigserial PRIMARY KEY,
    delegator  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delegate   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts     timestamptz NOT NULL,
    ends       timestamptz NOT NULL,
    reason     text NOT NULL DEFAULT '' CONSTRAINT delegations_reason_check CHECK (length(reason) <= 500),
    created_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT delegations_self_check CHECK (delegator <> delegate),
    CONSTRAINT delegations_span_check CHECK (ends > starts)
);

-- A user's delegations, and which of them are active or still to come at a
-- time t (ends > t): what a roster reads for each of its approvers.
CREATE INDEX delegations_delegator_idx ON delegations (delegator, ends);
-- Delegations given to a user (the user going away deletes them).
CREATE INDEX delegations_delegate_idx ON delegations (delegate);

-- A decision made with a delegation keeps on whose behalf ('' for one made
-- in the decider's own right, and for those recorded before).
ALTER TABLE service_request_responses
    ADD COLUMN on_behalf_of text NOT NULL DEFAULT '';
