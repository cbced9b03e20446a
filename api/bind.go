package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// bind decodes the JSON body into dst strictly: malformed JSON, a body that
// is not an object, unknown fields and wrong types are 400 with AWX's
// bodies; a body over 1 MiB is 413. Numbers inside free-form values
// (survey answers) stay json.Number, so 3 and 3.0 remain distinct as AWX
// sees them. An empty body is an empty object.
func bind(c *gin.Context, dst any) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeBody(raw, dst)
}

// bindAuthorized decodes the body into dst as bind does, but only once
// authorize has let the caller through, so that a caller who may not make
// the call is refused (403 or 404) whatever the body holds and only one
// who may learns what is wrong with it. authorize judges from what was
// loaded and checked before (the object of the path) and, where that is
// not enough, from peek, a lenient look at the body: it decodes into
// fields the keys that fields names and ignores the others (see
// decodeFields), and fails for a body that cannot be read at all (not a
// JSON object, over the size limit) or whose named keys have the wrong
// type. Handlers whose path alone decides load and check the object, then
// call bind.
func bindAuthorized(c *gin.Context, dst any, authorize func(peek func(fields any) error) error) error {
	var raw []byte
	var readErr error
	read := false
	peek := func(fields any) error {
		if !read {
			raw, readErr = readBody(c)
			read = true
		}
		if readErr != nil {
			return readErr
		}
		return decodeFields(raw, fields)
	}
	if err := authorize(peek); err != nil {
		return err
	}
	if !read {
		raw, readErr = readBody(c)
	}
	if readErr != nil {
		return readErr
	}
	return decodeBody(raw, dst)
}

// readBody reads the body of a call that takes a JSON object: over the
// route's limit is 413, a body that does not start as an object 400; an
// empty body is "{}".
func readBody(c *gin.Context) ([]byte, error) {
	raw, err := readRaw(c)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if raw[0] != '{' {
		return nil, badRequest("JSON parse error - not a JSON object")
	}
	return raw, nil
}

// decodeFields decodes the fields of dst from a body read by readBody,
// ignoring the others: a look at part of a body before it is bound.
func decodeFields(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("JSON parse error - extra data after the object")
	}
	return nil
}

// decodeBody decodes a body read by readBody into dst as bind does.
func decodeBody(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("JSON parse error - extra data after the object")
	}
	// The body is well-formed from here on, so checkKeys only judges keys.
	if err := checkKeys(raw, dst); err != nil {
		return err
	}
	if r, ok := dst.(interface{ readOnlyErrors() fieldErrors }); ok {
		return r.readOnlyErrors().err()
	}
	return nil
}

// checkKeys refuses what encoding/json would quietly accept at the top level
// of a body: a key given twice (the last would win) and a key that matches a
// field only when case is ignored.
func checkKeys(raw []byte, dst any) error {
	fields := jsonFields(reflect.TypeOf(dst))
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return decodeError(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeError(err)
		}
		key, _ := tok.(string)
		switch {
		case seen[key]:
			return fieldErrors{key: {"Given more than once."}}.err()
		case !fields[key]:
			return fieldErrors{key: {"Unknown field."}}.err()
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return decodeError(err)
		}
	}
	return nil
}

// jsonFields are the JSON names of a struct's fields, those of the structs
// it embeds included, as encoding/json reads them.
func jsonFields(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for embedded := range jsonFields(f.Type) {
				out[embedded] = true
			}
		case !f.IsExported():
		case name == "":
			out[f.Name] = true
		default:
			out[name] = true
		}
	}
	return out
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("JSON parse error - %s (at byte %d)", syntax.Error(), syntax.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "detail"
		}
		return fieldErrors{field: {fmt.Sprintf("Expected %s, got %s.", jsonKind(typ.Type.Kind().String()), typ.Value)}}.err()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldErrors{name: {"Unknown field."}}.err()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("JSON parse error - unexpected end of input")
	}
	return badRequest("JSON parse error - " + err.Error())
}

// jsonKind names a Go kind the way a JSON user thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return kind
}

// readRaw reads the whole request body: 413 beyond the route's limit.
func readRaw(c *gin.Context) ([]byte, error) {
	raw, err := io.ReadAll(c.Request.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, refuse(bodyTooLarge, fmt.Sprintf("The request body is larger than %d MiB.", tooLarge.Limit>>20))
	}
	if err != nil {
		return nil, refuse(unreadable, "The request body could not be read.")
	}
	return raw, nil
}
