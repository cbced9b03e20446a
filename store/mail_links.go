package store

import (
	"context"
	"time"
)

// MailLinkUse is the use of a mail's decision link: its id and what it
// was for.
type MailLinkUse struct {
	LinkID    string    `db:"link_id"`
	Username  string    `db:"username"`
	RequestID int64     `db:"request_id"`
	Stage     int       `db:"stage"`
	Action    string    `db:"action"`
	Expires   time.Time `db:"expires"`
}

// ClaimMailLink records that a link is being used, atomically: of two
// claims of one link, one succeeds and the other gets ErrConflict.
// ErrInvalidReference when the request does not exist.
func (s *Store) ClaimMailLink(ctx context.Context, u MailLinkUse) error {
	const q = `INSERT INTO mail_links_used (link_id, username, request_id, stage, action, expires)
		VALUES (:link_id, :username, :request_id, :stage, :action, :expires)`
	_, err := s.db.NamedExecContext(ctx, q, u)
	return wrap("claim mail link", err)
}

// ReleaseMailLink forgets the use of a link whose decision was refused,
// so that it can be tried again. A link never claimed is no error.
func (s *Store) ReleaseMailLink(ctx context.Context, linkID string) error {
	const q = `DELETE FROM mail_links_used WHERE link_id = $1`
	_, err := s.db.ExecContext(ctx, q, linkID)
	return wrap("release mail link", err)
}

// MailLinkUsed reports whether a link was used.
func (s *Store) MailLinkUsed(ctx context.Context, linkID string) (bool, error) {
	const q = `SELECT EXISTS (SELECT 1 FROM mail_links_used WHERE link_id = $1)`
	var used bool
	err := s.db.GetContext(ctx, &used, q, linkID)
	return used, wrap("look up mail link", err)
}

// DeleteExpiredMailLinks removes the uses of links that expired before
// now, which no longer matter, and says how many went.
func (s *Store) DeleteExpiredMailLinks(ctx context.Context, now time.Time) (int64, error) {
	const q = `DELETE FROM mail_links_used WHERE expires < $1`
	res, err := s.db.ExecContext(ctx, q, now)
	if err != nil {
		return 0, wrap("delete expired mail links", err)
	}
	n, err := res.RowsAffected()
	return n, wrap("delete expired mail links", err)
}
