package openapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// Version is the OpenAPI version of the documents this package builds.
const Version = "3.1.0"

// The security schemes' names in components/securitySchemes.
const (
	BearerScheme  = "bearerAuth"
	SessionScheme = "sessionCookie"
)

// Info is the document's info object.
type Info struct {
	Title       string
	Version     string
	Description string
}

// Option adds to every operation of a document.
type Option func(*options)

type options struct {
	given              map[reflect.Type]*openapi3.Schema
	sessionCookie      string
	sessionDescription string
	common             map[int]Response
	authenticated      map[int]Response
}

// TypeSchema gives the schema of the type of v (a value of it, or its
// reflect.Type), for a type that writes its own JSON, such as a duration
// marshaled as "72h0m0s", which reflection cannot see. A named type's
// schema becomes a component.
func TypeSchema(v any, schema *openapi3.Schema) Option {
	return func(o *options) { o.given[typeOf(v)] = schema }
}

// SessionCookie names the cookie that authenticates a browser session,
// documented as an alternative to the bearer token, with what a client must
// know of it (how it is set, what unsafe methods need besides).
func SessionCookie(name, description string) Option {
	return func(o *options) { o.sessionCookie, o.sessionDescription = name, description }
}

// CommonResponses adds responses every operation can answer, such as the
// 500 and 503 error bodies. An operation's own response for a status wins.
func CommonResponses(responses map[int]Response) Option {
	return func(o *options) { maps.Copy(o.common, responses) }
}

// AuthResponses adds responses every operation that requires
// authentication can answer, such as 401 and 403 with the error body.
func AuthResponses(responses map[int]Response) Option {
	return func(o *options) { maps.Copy(o.authenticated, responses) }
}

// Document builds the OpenAPI 3.1 document of ops, with a component schema
// for every named struct, map and enum type that their bodies use. It
// returns the document as a client loads it from its JSON (references
// resolved), after checking it with kin-openapi's validator: an error names
// the operation or type at fault.
func Document(ctx context.Context, info Info, ops []Operation, opts ...Option) (*openapi3.T, error) {
	o := options{given: map[reflect.Type]*openapi3.Schema{}, common: map[int]Response{}, authenticated: map[int]Response{}}
	for _, opt := range opts {
		opt(&o)
	}
	b := builder{schemas: newSchemas(o.given), opts: o}
	doc := &openapi3.T{
		OpenAPI: Version,
		Info:    &openapi3.Info{Title: info.Title, Version: info.Version, Description: info.Description},
		Paths:   openapi3.NewPaths(),
	}
	ids := map[string]Route{}
	tags := map[string]bool{}
	for _, op := range ops {
		if err := op.check(); err != nil {
			return nil, err
		}
		if other, taken := ids[op.ID]; taken {
			return nil, fmt.Errorf("openapi: operation ID %q used by %v and %v", op.ID, other, op.Route())
		}
		ids[op.ID] = op.Route()
		path, _ := OpenAPIPath(op.Path)
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		if item.GetOperation(op.Method) != nil {
			return nil, fmt.Errorf("openapi: %v documented twice", op.Route())
		}
		operation, err := b.operation(op)
		if err != nil {
			return nil, fmt.Errorf("openapi: %v (%s): %w", op.Route(), op.ID, err)
		}
		item.SetOperation(op.Method, operation)
		for _, t := range op.Tags {
			tags[t] = true
		}
	}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: t})
	}
	doc.Components = &openapi3.Components{Schemas: b.schemas.components, SecuritySchemes: b.securitySchemes()}
	doc.Security = b.security()
	return load(ctx, doc)
}

// load round-trips doc through its JSON, so that what is checked and used
// for validation is exactly what clients are served.
func load(ctx context.Context, doc *openapi3.T) (*openapi3.T, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: marshal the document: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loaded, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: load the document: %w", err)
	}
	if err := loaded.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	return loaded, nil
}

type builder struct {
	schemas *schemas
	opts    options
}

func (b *builder) securitySchemes() openapi3.SecuritySchemes {
	schemes := openapi3.SecuritySchemes{
		BearerScheme: {Value: &openapi3.SecurityScheme{
			Type: "http", Scheme: "bearer",
			Description: "A personal access token: Authorization: Bearer <token>.",
		}},
	}
	if b.opts.sessionCookie != "" {
		schemes[SessionScheme] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "apiKey", In: "cookie", Name: b.opts.sessionCookie,
			Description: b.opts.sessionDescription,
		}}
	}
	return schemes
}

// security is the document's default: a bearer token or the session cookie.
func (b *builder) security() openapi3.SecurityRequirements {
	reqs := openapi3.SecurityRequirements{{BearerScheme: []string{}}}
	if b.opts.sessionCookie != "" {
		reqs = append(reqs, openapi3.SecurityRequirement{SessionScheme: []string{}})
	}
	return reqs
}

func (b *builder) operation(op Operation) (*openapi3.Operation, error) {
	operation := &openapi3.Operation{
		OperationID: op.ID,
		Summary:     op.Summary,
		Description: op.Description,
		Tags:        op.Tags,
		Responses:   openapi3.NewResponses(),
	}
	if op.Public {
		// An empty list overrides the document's default: no credentials.
		operation.Security = &openapi3.SecurityRequirements{}
	}
	params, err := b.parameters(op)
	if err != nil {
		return nil, err
	}
	operation.Parameters = params
	if op.Body != nil {
		schema, err := b.schemas.ref(bodyType(op.Body))
		if err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		operation.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
			WithRequired(true).WithJSONSchemaRef(schema)}
	}
	responses := map[int]Response{}
	maps.Copy(responses, b.opts.common)
	if !op.Public {
		maps.Copy(responses, b.opts.authenticated)
	}
	maps.Copy(responses, op.Responses)
	for _, status := range slices.Sorted(maps.Keys(responses)) {
		r := responses[status]
		description := r.Description
		if description == "" {
			description = http.StatusText(status)
		}
		response := openapi3.NewResponse().WithDescription(description)
		if r.Body != nil {
			schema, err := b.body(r.Body)
			if err != nil {
				return nil, fmt.Errorf("response %d: %w", status, err)
			}
			response.Content = openapi3.NewContentWithJSONSchemaRef(schema)
		}
		operation.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: response})
	}
	return operation, nil
}

// body is the schema of a response body: its type's, or anyOf those of
// an AnyOf's types.
func (b *builder) body(v any) (*openapi3.SchemaRef, error) {
	alternatives, ok := v.(AnyOf)
	if !ok {
		return b.schemas.ref(bodyType(v))
	}
	if len(alternatives) < 2 {
		return nil, fmt.Errorf("openapi: AnyOf needs two types or more")
	}
	schema := &openapi3.Schema{}
	for _, alt := range alternatives {
		ref, err := b.schemas.ref(bodyType(alt))
		if err != nil {
			return nil, err
		}
		schema.AnyOf = append(schema.AnyOf, ref)
	}
	return openapi3.NewSchemaRef("", schema), nil
}

func (b *builder) parameters(op Operation) (openapi3.Parameters, error) {
	var params openapi3.Parameters
	_, names := OpenAPIPath(op.Path)
	for _, name := range names {
		p := Param{Name: name}
		for _, described := range op.PathParams {
			if described.Name == name {
				p = described
			}
		}
		param, err := b.parameter(openapi3.NewPathParameter(name), p)
		if err != nil {
			return nil, err
		}
		params = append(params, param)
	}
	for _, p := range op.Query {
		param, err := b.parameter(openapi3.NewQueryParameter(p.Name).WithRequired(p.Required), p)
		if err != nil {
			return nil, err
		}
		params = append(params, param)
	}
	return params, nil
}

func (b *builder) parameter(param *openapi3.Parameter, p Param) (*openapi3.ParameterRef, error) {
	t := typeOf(p.Type)
	if t == nil {
		t = typeOf("")
	}
	schema, err := b.schemas.ref(t)
	if err != nil {
		return nil, fmt.Errorf("parameter %q: %w", p.Name, err)
	}
	param.Description = p.Description
	param.Schema = schema
	return &openapi3.ParameterRef{Value: param}, nil
}
