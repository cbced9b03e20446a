package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Delegation lets Delegate decide, from Starts until Ends, wherever
// Delegator may (out of office). Usernames are read with the ids.
type Delegation struct {
	ID                int64     `db:"id"`
	DelegatorID       int64     `db:"delegator"`
	DelegatorUsername string    `db:"delegator_username"`
	DelegateID        int64     `db:"delegate"`
	DelegateUsername  string    `db:"delegate_username"`
	Starts            time.Time `db:"starts"`
	Ends              time.Time `db:"ends"`
	Reason            string    `db:"reason"`
	// CreatedBy is nil once the account that set it up is deleted.
	CreatedBy *int64    `db:"created_by"`
	Created   time.Time `db:"created"`
}

// NewDelegation is what CreateDelegation needs.
type NewDelegation struct {
	DelegatorID int64
	DelegateID  int64
	Starts      time.Time
	Ends        time.Time
	Reason      string
	CreatedBy   int64
	// MaxOpen, when above 0, is how many delegations that have not ended
	// (at Now) the delegator may have: CreateDelegation refuses with
	// ErrLimit when they already have that many.
	MaxOpen int
	Now     time.Time
}

const delegationColumns = `d.id, d.delegator, dr.username AS delegator_username, d.delegate, de.username AS delegate_username,
	d.starts, d.ends, d.reason, d.created_by, d.created`

const delegationFrom = ` FROM delegations d JOIN users dr ON dr.id = d.delegator JOIN users de ON de.id = d.delegate`

var delegationSort = sortFields{
	{name: "id", column: "d.id"}, {name: "starts", column: "d.starts"}, {name: "ends", column: "d.ends"},
	{name: "created", column: "d.created"},
}

// CreateDelegation records a delegation. ErrInvalidReference for an unknown
// user; ErrInvalid when delegator and delegate are the same or Ends is not
// after Starts; ErrLimit when the delegator already has MaxOpen delegations
// that have not ended.
func (s *Store) CreateDelegation(ctx context.Context, n NewDelegation) (Delegation, error) {
	var d Delegation
	err := s.WithTx(ctx, func(tx *sqlx.Tx) error {
		if n.MaxOpen > 0 {
			if err := checkDelegationLimit(ctx, tx, n.DelegatorID, n.MaxOpen, n.Now); err != nil {
				return err
			}
		}
		const q = `WITH d AS (INSERT INTO delegations (delegator, delegate, starts, ends, reason, created_by, created)
			VALUES (:delegator, :delegate, :starts, :ends, :reason, :created_by, :now) RETURNING *)
			SELECT ` + delegationColumns + ` FROM d JOIN users dr ON dr.id = d.delegator JOIN users de ON de.id = d.delegate`
		return namedGet(ctx, tx, &d, q, map[string]any{
			"delegator": n.DelegatorID, "delegate": n.DelegateID, "starts": n.Starts, "ends": n.Ends,
			"reason": n.Reason, "created_by": n.CreatedBy, "now": n.Now,
		})
	})
	return d, wrap("create delegation", err)
}

// checkDelegationLimit locks the delegator's row, so that concurrent
// creations count one after the other, and refuses with ErrLimit when they
// have limit delegations that have not ended at now.
func checkDelegationLimit(ctx context.Context, tx *sqlx.Tx, userID int64, limit int, now time.Time) error {
	const lock = `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`
	var id int64
	if err := tx.GetContext(ctx, &id, lock, userID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the insert answers ErrInvalidReference
		}
		return err
	}
	const count = `SELECT count(*) FROM delegations WHERE delegator = $1 AND ends > $2`
	var n int
	if err := tx.GetContext(ctx, &n, count, userID, now); err != nil {
		return err
	}
	if n >= limit {
		return fmt.Errorf("%w: the user has %d delegations that have not ended", ErrLimit, n)
	}
	return nil
}

// GetDelegation returns the delegation with this id, or ErrNotFound.
func (s *Store) GetDelegation(ctx context.Context, id int64) (Delegation, error) {
	const q = `SELECT ` + delegationColumns + delegationFrom + ` WHERE d.id = $1`
	var d Delegation
	err := s.db.GetContext(ctx, &d, q, id)
	return d, wrap("get delegation", err)
}

// ListDelegations returns a page of the delegations a user gave, ended ones
// included, and how many there are. Sortable: id, starts, ends, created.
// ErrNotFound when there is no such user; ErrInvalid for bad ListOptions.
func (s *Store) ListDelegations(ctx context.Context, userID int64, opts ListOptions) ([]Delegation, int, error) {
	p, err := opts.resolve(delegationSort)
	if err != nil {
		return nil, 0, wrap("list delegations", err)
	}
	const (
		q      = `SELECT ` + delegationColumns + delegationFrom + ` WHERE d.delegator = :user_id ORDER BY `
		qCount = `SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id) AS found,
			(SELECT count(*) FROM delegations WHERE delegator = :user_id) AS total`
	)
	var (
		rows  []Delegation
		count struct {
			Found bool `db:"found"`
			Total int  `db:"total"`
		}
	)
	arg := p.args(map[string]any{"user_id": userID})
	if err := selectPage(ctx, s.db, &rows, q+p.orderBy+pageClause, &count, qCount, arg); err != nil {
		return nil, 0, wrap("list delegations", err)
	}
	if !count.Found {
		return nil, 0, wrap("list delegations", ErrNotFound)
	}
	return nonNil(rows), count.Total, nil
}

// DeleteDelegation removes a delegation; ErrNotFound when there is none.
func (s *Store) DeleteDelegation(ctx context.Context, id int64) error {
	return deleteOne(ctx, s.db, "delete delegation", `DELETE FROM delegations WHERE id = $1`, id)
}
