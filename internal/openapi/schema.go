package openapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// Enumer is implemented by a named type whose values are a closed set, such
// as a status: its schema lists them as an enum. Enum is called on the zero
// value, so it must not depend on the receiver.
type Enumer interface {
	Enum() []any
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	enumerType    = reflect.TypeFor[Enumer]()
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// schemas turns Go types into JSON Schemas the way encoding/json marshals
// them, collecting named types as components so that each concept has one
// schema, referenced everywhere it appears.
type schemas struct {
	components openapi3.Schemas
	// owner remembers which Go type took a component name, so that two types
	// that would share one are an error instead of one silently replacing the
	// other.
	owner map[string]reflect.Type
	// given are the schemas the caller wrote for types that marshal
	// themselves.
	given map[reflect.Type]*openapi3.Schema
}

func newSchemas(given map[reflect.Type]*openapi3.Schema) *schemas {
	return &schemas{components: openapi3.Schemas{}, owner: map[string]reflect.Type{}, given: given}
}

// ref is the schema of t: a $ref for a component, an inline schema otherwise.
func (s *schemas) ref(t reflect.Type) (*openapi3.SchemaRef, error) {
	if t.Kind() == reflect.Pointer {
		inner, err := s.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		return nullable(inner), nil
	}
	name, isComponent := componentName(t)
	if _, given := s.given[t]; given && t.Name() != "" && t.PkgPath() != "" {
		name, isComponent = t.Name(), true
	}
	if !isComponent {
		schema, err := s.inline(t)
		if err != nil {
			return nil, err
		}
		return openapi3.NewSchemaRef("", schema), nil
	}
	if owner, taken := s.owner[name]; taken {
		if owner != t {
			return nil, fmt.Errorf("openapi: %v and %v both make the component schema %q", owner, t, name)
		}
		return s.refTo(name), nil
	}
	// Claimed before it is built so that a recursive type refers to itself.
	s.owner[name] = t
	schema, err := s.inline(t)
	if err != nil {
		return nil, err
	}
	s.components[name] = openapi3.NewSchemaRef("", schema)
	return s.refTo(name), nil
}

func (s *schemas) refTo(name string) *openapi3.SchemaRef {
	ref := "#/components/schemas/" + name
	return &openapi3.SchemaRef{Ref: ref}
}

// inline is t's own schema, without the indirection of a component.
func (s *schemas) inline(t reflect.Type) (*openapi3.Schema, error) {
	schema, err := s.shape(t)
	if err != nil {
		return nil, err
	}
	if t.Implements(enumerType) {
		schema.Enum = reflect.Zero(t).Interface().(Enumer).Enum()
	}
	return schema, nil
}

func (s *schemas) shape(t reflect.Type) (*openapi3.Schema, error) {
	if given, ok := s.given[t]; ok {
		// A copy, so that making one use of it nullable leaves the others.
		schema := *given
		if given.Type != nil {
			schema.Type = new(given.Type.Clone())
		}
		return &schema, nil
	}
	switch {
	case t == timeType:
		return openapi3.NewDateTimeSchema(), nil
	case t == rawType || t.Kind() == reflect.Interface:
		// Any JSON value, null included. The types are spelled out rather
		// than left to {}: kin-openapi's validator falls back to OpenAPI 3.0
		// rules for schemas with references, and there {} refuses null.
		return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray, openapi3.TypeBoolean, openapi3.TypeNull,
			openapi3.TypeNumber, openapi3.TypeObject, openapi3.TypeString}}, nil
	case t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler):
		return nil, fmt.Errorf("openapi: %v writes its own JSON: give its schema with TypeSchema", t)
	case t.Implements(textMarshaler) && t.Kind() != reflect.String:
		// MarshalText decides the text, which this package cannot know
		// beyond its being a string.
		return openapi3.NewStringSchema(), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return openapi3.NewBoolSchema(), nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16:
		return openapi3.NewInt32Schema(), nil
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return openapi3.NewInt64Schema(), nil
	case reflect.Float32, reflect.Float64:
		return openapi3.NewFloat64Schema(), nil
	case reflect.String:
		return openapi3.NewStringSchema(), nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return openapi3.NewBytesSchema(), nil
		}
		items, err := s.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		schema := openapi3.NewArraySchema()
		schema.Items = items
		return schema, nil
	case reflect.Map:
		values, err := s.ref(t.Elem())
		if err != nil {
			return nil, err
		}
		schema := openapi3.NewObjectSchema()
		schema.AdditionalProperties = openapi3.AdditionalProperties{Schema: values}
		return schema, nil
	case reflect.Struct:
		return s.object(t)
	}
	return nil, fmt.Errorf("openapi: no JSON schema for %v (%v)", t, t.Kind())
}

// object is a struct's schema. It is closed (no additional properties) so
// that a field a handler sends without declaring it breaks the contract
// test instead of drifting from the document.
func (s *schemas) object(t reflect.Type) (*openapi3.Schema, error) {
	schema := openapi3.NewObjectSchema()
	schema.Properties = openapi3.Schemas{}
	schema.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	for _, f := range jsonFields(t) {
		prop, err := s.ref(f.typ)
		if err != nil {
			return nil, fmt.Errorf("%v.%s: %w", t, f.name, err)
		}
		if err := f.apply(&prop); err != nil {
			return nil, fmt.Errorf("openapi: %v.%s: %w", t, f.name, err)
		}
		schema.Properties[f.name] = prop
		if !f.optional {
			schema.Required = append(schema.Required, f.name)
		}
	}
	return schema, nil
}

// nullable lets a schema also be null, the OpenAPI 3.1 way: "null" among
// its types, or, for a $ref whose target cannot be changed, anyOf.
func nullable(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
	if ref.Ref != "" {
		return openapi3.NewSchemaRef("", &openapi3.Schema{AnyOf: openapi3.SchemaRefs{
			ref, openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeNull}}),
		}})
	}
	schema := ref.Value
	switch {
	case schema.Type == nil || schema.Type.IsEmpty():
		// Anything already includes null.
	case schema.Enum != nil:
		// An enum lists every value it allows, null included.
		schema.Type.With(openapi3.TypeNull)
		if !slices.Contains(schema.Enum, nil) {
			schema.Enum = append(schema.Enum, nil)
		}
	default:
		schema.Type.With(openapi3.TypeNull)
	}
	return ref
}

// componentName is the component name of a named struct, map or enum type:
// its Go name, with a generic instantiation's type arguments spelled out
// (Page[api.Team] is PageTeam). Other types are described inline.
func componentName(t reflect.Type) (string, bool) {
	if t.Name() == "" || t.PkgPath() == "" || t == timeType || t == rawType {
		return "", false
	}
	if t.Kind() != reflect.Struct && t.Kind() != reflect.Map && !t.Implements(enumerType) {
		return "", false
	}
	base, args, generic := strings.Cut(t.Name(), "[")
	// An unexported type, such as a handler's request body, is named as
	// clients read names: orgBody is OrgBody.
	base = upperFirst(base)
	if !generic {
		return base, true
	}
	var name strings.Builder
	name.WriteString(base)
	for _, word := range typeArgWords.FindAllString(args, -1) {
		// Keep the last element of a package path: github.com/x/api.Team is Team.
		if i := strings.LastIndexAny(word, "/."); i >= 0 {
			word = word[i+1:]
		}
		name.WriteString(upperFirst(word))
	}
	return name.String(), true
}

// typeArgWords finds the qualified identifiers in a reflect type name's
// argument list, such as github.com/x/api.Team in "[]*github.com/x/api.Team".
var typeArgWords = regexp.MustCompile(`[\p{L}_][\p{L}\p{N}_./-]*[\p{L}\p{N}_]|[\p{L}_]`)

func upperFirst(s string) string {
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}
