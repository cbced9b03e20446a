// Package openapi builds the API's OpenAPI 3.1 document from the code and
// checks the API against it, so that the two cannot drift apart.
//
// The contract:
//   - The caller describes each route as an Operation: gin's method and path,
//     an operation ID, whether it is public, its parameters, and the Go types
//     of its request body and of each status's response body (the error
//     bodies included: this package knows none of them). A body whose shape
//     depends on who asks, or an error status with several kinds of body, is
//     an AnyOf of its types.
//   - Document turns the operations into an OpenAPI 3.1.0 document with
//     kin-openapi, deriving every schema from the Go types by reflection as
//     encoding/json marshals them: json tags name properties, a field is
//     required unless omitempty or omitzero, a pointer may be null ("null"
//     among its types, or anyOf with a $ref), time.Time is a date-time
//     string, json.RawMessage and interfaces are any value, maps are objects
//     of their values, each named struct, map or Enumer type is one
//     component schema under #/components/schemas referenced by $ref (an
//     unexported name capitalised: orgBody is OrgBody), and a
//     generic instantiation gets a name of its own (Page[Team] is PageTeam).
//     Struct schemas are closed (additionalProperties: false). A type that
//     writes its own JSON (json.Marshaler) is an error unless TypeSchema
//     gives its schema; a TextMarshaler is a string. The tags
//     `openapi:"nullable,enum=a|b,format=uri"` and `description:"..."`
//     refine a field. Authentication is a bearer token or, when named, the
//     session cookie; a public operation needs neither. The document
//     returned has been through kin-openapi's loader and validator.
//   - A Validator checks one answer (method, request target, status,
//     headers, body) against the document: the route and the status must be
//     documented and the body must match its schema, JSON Schema 2020-12
//     semantics. Its errors name the operation, the status and each field
//     that broke.
//   - Coverage compares gin's served routes with the operations and lists
//     the routes served but not documented and the operations documented but
//     not served, less the routes the caller excludes.
package openapi
