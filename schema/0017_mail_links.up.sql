-- Decision links of mails that were used: each works once. A row is
-- written when its decision is confirmed, and removed again if the rules
-- refuse that decision, so that the link can be tried again. Rows of
-- links past their expiry are of no more use: an expired link is refused
-- before its use is looked up.
CREATE TABLE mail_links_used (
    link_id    text PRIMARY KEY CONSTRAINT mail_links_used_link_id_check CHECK (length(link_id) BETWEEN 1 AND 64),
    username   text NOT NULL,
    request_id bigint NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    stage      integer NOT NULL,
    action     text NOT NULL,
    expires    timestamptz NOT NULL,
    used_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mail_links_used_request_idx ON mail_links_used (request_id);
CREATE INDEX mail_links_used_expires_idx ON mail_links_used (expires);
