package api

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// readOnly holds the fields of an object's representation that a client
// cannot set, so that what GET returned can be sent back whole (README
// "REST API"). Bodies embed it and the binding checks it (decodeBody):
// fields that say which object a body is about (id, type, url) must be the
// object's own; fields the server derives (related, summary_fields,
// created, modified) are ignored, whatever they hold. A handler sets of to
// the representation of the object it changes (shown); on a create it is
// unset, and id, type and url are refused.
type readOnly struct {
	ID            json.RawMessage `json:"id"`
	Type          json.RawMessage `json:"type"`
	URL           json.RawMessage `json:"url"`
	Related       json.RawMessage `json:"related"`
	SummaryFields json.RawMessage `json:"summary_fields"`
	Created       json.RawMessage `json:"created"`
	Modified      json.RawMessage `json:"modified"`

	of map[string]any
}

// shown is the readOnly part of a body about the object view represents.
func shown(view any) readOnly {
	var of map[string]any
	raw, err := json.Marshal(view)
	if err == nil {
		err = json.Unmarshal(raw, &of)
	}
	if err != nil {
		panic("api: a view that is not a JSON object: " + err.Error())
	}
	return readOnly{of: of}
}

// readOnlyErrors refuses each identifying field given that differs from
// the object's.
func (r readOnly) readOnlyErrors() fieldErrors {
	errs := fieldErrors{}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"id", r.ID}, {"type", r.Type}, {"url", r.URL}} {
		if f.raw == nil {
			continue
		}
		stored, known := r.of[f.name]
		switch {
		case !known:
			errs.add(f.name, "Read-only: the server sets it; leave it out.")
		case !sameValue(f.raw, stored):
			shownAs, _ := json.Marshal(stored)
			errs.add(f.name, fmt.Sprintf("Read-only: this is %s; send it as GET shows it, or leave it out.", shownAs))
		}
	}
	return errs
}

// sameValue reports whether raw is the JSON of v.
func sameValue(raw json.RawMessage, v any) bool {
	want, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var a, b any
	if json.Unmarshal(raw, &a) != nil || json.Unmarshal(want, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// dropSame forgets a field of a body that equals the stored value: a value
// sent back as GET showed it is no change, so it is neither checked again
// against today's rules nor written.
func dropSame[T comparable](field **T, stored T) {
	if *field != nil && **field == stored {
		*field = nil
	}
}

// sameID reports whether two optional ids are the same.
func sameID(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
