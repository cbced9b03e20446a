package openapi

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// field is one property of a struct's JSON object, as encoding/json
// marshals it.
type field struct {
	name     string
	typ      reflect.Type
	optional bool // omitempty or omitzero: the key may be absent
	tagged   bool // named by its json tag, which wins a name over an untagged field
	quoted   bool // the ",string" option: a number or bool sent as a string
	depth    int  // how deeply embedded, to resolve names as encoding/json does

	// From the `openapi` tag.
	nullable bool
	enum     []any
	format   string
	// From the `description` tag.
	description string
}

// jsonFields lists t's JSON properties in declaration order: exported
// fields named by their json tag, the fields of embedded structs promoted,
// and of the fields that claim one name, the shallowest, or among those the
// one tagged with it, or none, as encoding/json does.
func jsonFields(t reflect.Type) []field {
	var all []field
	collectFields(t, 0, false, map[reflect.Type]bool{}, &all)
	shallowest := map[string]int{}
	count, tagged := map[[2]any]int{}, map[[2]any]int{}
	for _, f := range all {
		if d, seen := shallowest[f.name]; !seen || f.depth < d {
			shallowest[f.name] = f.depth
		}
		count[[2]any{f.name, f.depth}]++
		if f.tagged {
			tagged[[2]any{f.name, f.depth}]++
		}
	}
	var fields []field
	for _, f := range all {
		if f.depth != shallowest[f.name] {
			continue
		}
		if n := count[[2]any{f.name, f.depth}]; n == 1 || f.tagged && tagged[[2]any{f.name, f.depth}] == 1 {
			fields = append(fields, f)
		}
	}
	return fields
}

// collectFields appends t's fields to out. Under an embedded pointer every
// field is optional: a nil pointer leaves them all out.
func collectFields(t reflect.Type, depth int, optional bool, visiting map[reflect.Type]bool, out *[]field) {
	if visiting[t] {
		return
	}
	visiting[t] = true
	defer delete(visiting, t)
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft, viaPointer := sf.Type, false
			if ft.Kind() == reflect.Pointer {
				ft, viaPointer = ft.Elem(), true
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, depth+1, optional || viaPointer, visiting, out)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{name: name, typ: sf.Type, depth: depth, optional: optional, description: sf.Tag.Get("description")}
		f.tagged = hasTag && name != ""
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "omitzero":
				f.optional = true
			case "omitempty":
				f.optional = f.optional || omitsEmpty(sf.Type)
			case "string":
				f.quoted = true
			}
		}
		parseOpenAPITag(sf.Tag.Get("openapi"), &f)
		*out = append(*out, f)
	}
}

// omitsEmpty tells whether encoding/json's omitempty can leave out a value
// of type t: it never leaves out a struct, time.Time included.
func omitsEmpty(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Array:
		return t.Len() == 0
	}
	return true
}

// parseOpenAPITag reads the `openapi` struct tag: comma-separated options
// "nullable" (the value may be null although its Go type is not a pointer,
// e.g. a nil slice), "enum=a|b|c" (the string values allowed) and
// "format=uri" (a string format).
func parseOpenAPITag(tag string, f *field) {
	if tag == "" {
		return
	}
	for opt := range strings.SplitSeq(tag, ",") {
		key, value, _ := strings.Cut(opt, "=")
		switch key {
		case "nullable":
			f.nullable = true
		case "enum":
			for v := range strings.SplitSeq(value, "|") {
				f.enum = append(f.enum, v)
			}
		case "format":
			f.format = value
		}
	}
}

// apply adds what the field's tags say to its schema. A $ref cannot carry
// keywords of its own in a way every tool reads, so a described reference
// becomes an allOf of one.
func (f field) apply(prop **openapi3.SchemaRef) error {
	ref := *prop
	if f.quoted {
		if ref.Value == nil || ref.Value.Type == nil {
			return fmt.Errorf("the ,string option on a field that is not a number or bool")
		}
		ref.Value.Type = &openapi3.Types{openapi3.TypeString}
		ref.Value.Format = ""
	}
	if f.enum != nil || f.format != "" {
		if ref.Ref != "" || ref.Value == nil || !ref.Value.Type.Includes(openapi3.TypeString) {
			return fmt.Errorf("enum= and format= apply to string fields only")
		}
		ref.Value.Enum, ref.Value.Format = f.enum, f.format
		if f.enum != nil && ref.Value.Type.IncludesNull() {
			ref.Value.Enum = append(ref.Value.Enum, nil)
		}
	}
	if f.nullable {
		ref = nullable(ref)
	}
	if f.description != "" {
		if ref.Ref != "" {
			ref = openapi3.NewSchemaRef("", &openapi3.Schema{AllOf: openapi3.SchemaRefs{ref}})
		}
		ref.Value.Description = f.description
	}
	*prop = ref
	return nil
}
