package store

// The approval inbox's SQL, for the test that EXPLAINs it.
const (
	PendingForQuery      = pendingForQuery
	PendingForCountQuery = pendingForCountQuery
)
