// Package fasttest is the API's fast test tier: the real api.Server (its
// routes, middleware and the one error mapping) on an in-memory store
// (internal/storefake), the Temporal SDK's mock client and the AWX
// simulator served in-process, so no PostgreSQL, Temporal server or
// network is involved and the whole tier runs in seconds.
//
// It pins what does not need the real stack: every error the API can
// answer, with its status and body and without internal text, and what
// each kind of user may do to each kind of object (the
// summary_fields.user_capabilities of the views). What needs the real
// stack — the workflow's rules applied by a worker, SQL, the timing of
// Temporal's answers — is the api package's own tests' (the slow tier).
//
// The package holds tests only.
package fasttest
