package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// Sentinel errors. Every store method returns errors that wrap one of these
// when the cause is one of the situations below, so callers test them with
// errors.Is and never look at driver errors.
var (
	// ErrNotFound: the row asked for (or the row to change) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change would break a uniqueness rule (a duplicate
	// name, an AWX job owned by another request) or a rule about the row's
	// current state (a request that already launched a different job).
	ErrConflict = errors.New("conflict")
	// ErrJobTaken: the AWX job is already recorded for another request
	// (ClaimJob). It wraps ErrConflict.
	ErrJobTaken = fmt.Errorf("%w: the AWX job belongs to another request", ErrConflict)
	// ErrInvalidReference: the change refers to a row that does not exist
	// (an unknown organization, user or team id).
	ErrInvalidReference = errors.New("reference to a missing row")
	// ErrReferenced: the row cannot be deleted because other rows still
	// refer to it (a user or organization that has service requests).
	ErrReferenced = errors.New("still referenced")
	// ErrInvalid: a value breaks a rule of the schema (an unknown status, a
	// stage needing fewer than one approver, extra_vars that is not a JSON
	// object, an empty name).
	ErrInvalid = errors.New("invalid value")
	// ErrLimit: the change would give an owner more rows than it may have
	// (an organization's approval policies).
	ErrLimit = errors.New("limit reached")
	// ErrUnavailable: PostgreSQL could not be reached or refused to serve
	// (down, restarting, out of connections, a query timed out); trying
	// again later may work.
	ErrUnavailable = errors.New("database unavailable")
	// ErrSchemaNewer: the database has migrations this binary does not know,
	// so it was migrated by a newer release; running against it could
	// corrupt data.
	ErrSchemaNewer = errors.New("database schema is newer than this binary")
)

// mapError turns driver errors into the sentinels, recognising PostgreSQL
// errors by SQLSTATE code (message texts are localised and change between
// versions). Errors that are not data errors pass through unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var netErr net.Error
	if errors.Is(err, driver.ErrBadConn) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	pqErr := pq.As(err)
	if pqErr == nil {
		return err
	}
	if code := string(pqErr.Code); len(code) == 5 && (code[:2] == "08" || code[:2] == "57" || code[:2] == "53") {
		// Connection exceptions, operator intervention (shutdown,
		// restart) and insufficient resources (too many connections).
		return fmt.Errorf("%w: %s", ErrUnavailable, pqErr.Message)
	}
	switch pqErr.Code {
	case pqerror.UniqueViolation, pqerror.ExclusionViolation:
		return fmt.Errorf("%w: %s", ErrConflict, pqErr.Constraint)
	case pqerror.ForeignKeyViolation:
		return fmt.Errorf("%w: %s", ErrInvalidReference, pqErr.Constraint)
	case pqerror.CheckViolation, pqerror.NotNullViolation:
		return fmt.Errorf("%w: %s", ErrInvalid, pqErr.Message)
	case pqerror.InvalidTextRepresentation, pqerror.InvalidParameterValue,
		pqerror.NumericValueOutOfRange, pqerror.InvalidJSONText:
		return fmt.Errorf("%w: %s", ErrInvalid, pqErr.Message)
	}
	return err
}

// mapDeleteError is mapError for deletes, where a foreign-key violation means
// the row is still referenced rather than that it refers to a missing one.
func mapDeleteError(err error) error {
	if pq.As(err, pqerror.ForeignKeyViolation) != nil {
		return fmt.Errorf("%w: %s", ErrReferenced, pq.As(err).Constraint)
	}
	return mapError(err)
}

// wrap adds the operation to a mapped error.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s: %w", op, mapError(err))
}
