package awxsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countersign/countersign/awx/pyrepr"
)

// label is an AWX label. Labels exist so that a client can mark a launch
// with a filterable value (?labels__name=) and find it again after losing
// the launch's response.
type label struct {
	id           int64
	name         string
	organization int64
	created      time.Time
}

func (s *Server) labelRepr(l *label) map[string]any {
	url := fmt.Sprintf("/api/v2/labels/%d/", l.id)
	return map[string]any{
		"id": l.id, "type": "label", "url": url,
		"related":        map[string]any{"organization": fmt.Sprintf("/api/v2/organizations/%d/", l.organization)},
		"summary_fields": map[string]any{"organization": map[string]any{"id": l.organization, "name": organizationName(l.organization), "description": ""}},
		"created":        timestamp(l.created), "modified": timestamp(l.created),
		"name": l.name, "organization": l.organization,
	}
}

// organizationExists knows organization 1 and those of the templates.
// s.mu must be held.
func (s *Server) organizationExists(id int64) bool {
	if id == 1 {
		return true
	}
	for _, m := range []map[int64]*template{s.jts, s.wfjts} {
		for _, t := range m {
			if t.organization == id {
				return true
			}
		}
	}
	return false
}

// labelByID finds a label. s.mu must be held.
func (s *Server) labelByID(id int64) *label {
	for _, l := range s.labels {
		if l.id == id {
			return l
		}
	}
	return nil
}

var labelListSpec = listSpec[*label]{model: "Label", fields: map[string]field[*label]{
	"id":           {typ: intField, get: func(l *label) []any { return one(l.id) }},
	"name":         {typ: stringField, get: func(l *label) []any { return one(l.name) }},
	"organization": {typ: intField, get: func(l *label) []any { return one(l.organization) }},
	"created":      {typ: timeField, get: func(l *label) []any { return one(l.created) }},
}, search: func(l *label) []string { return []string{l.name} }}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	all, err := labelListSpec.filter(append([]*label{}, s.labels...), q)
	if err == nil {
		err = labelListSpec.order(all, q)
	}
	if err != nil {
		err.write(w)
		return
	}
	out := make([]any, len(all))
	for i, l := range all {
		out[i] = s.labelRepr(l)
	}
	writePage(w, r, out)
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.labelByID(id)
	if l == nil {
		notFound().write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.labelRepr(l))
}

// postLabel creates a label; (name, organization) is unique, as in AWX.
func (s *Server) postLabel(w http.ResponseWriter, r *http.Request) {
	body, aerr := readObject(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := map[string][]string{}
	name, _ := body["name"].(string)
	switch raw, ok := body["name"]; {
	case !ok:
		errs["name"] = []string{"This field is required."}
	case raw == nil:
		errs["name"] = []string{"This field may not be null."}
	case !isString(raw):
		errs["name"] = []string{"Not a valid string."}
	case name == "":
		errs["name"] = []string{"This field may not be blank."}
	case utf8.RuneCountInString(name) > 512:
		errs["name"] = []string{"Ensure this field has no more than 512 characters."}
	}
	var org int64
	switch raw, ok := body["organization"]; {
	case !ok:
		errs["organization"] = []string{"This field is required."}
	case raw == nil:
		errs["organization"] = []string{"This field may not be null."}
	default:
		id, msg := parsePK(raw)
		if msg == "" && !s.organizationExists(id) {
			msg = fmt.Sprintf("Invalid pk \"%s\" - object does not exist.", pyrepr.Str(raw))
		}
		if msg != "" {
			errs["organization"] = []string{msg}
		}
		org = id
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, errs)
		return
	}
	for _, l := range s.labels {
		if l.name == name && l.organization == org {
			writeJSON(w, http.StatusBadRequest, map[string]any{"__all__": []string{"Label with this Name and Organization already exists."}})
			return
		}
	}
	l := &label{id: s.nextLabel, name: name, organization: org, created: s.now()}
	s.nextLabel++
	s.labels = append(s.labels, l)
	w.Header().Set("Location", fmt.Sprintf("/api/v2/labels/%d/", l.id))
	writeJSON(w, http.StatusCreated, s.labelRepr(l))
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

// parsePK reads a primary key the way DRF's PrimaryKeyRelatedField does,
// returning its message for a value of the wrong type. Existence is the
// caller's check.
func parsePK(v any) (int64, string) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil && isIntLiteral(x) {
			return n, ""
		}
		return 0, "Incorrect type. Expected pk value, received float."
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, ""
		}
		return 0, "Incorrect type. Expected pk value, received str."
	case bool:
		return 0, "Incorrect type. Expected pk value, received bool."
	case []any:
		return 0, "Incorrect type. Expected pk value, received list."
	case map[string]any:
		return 0, "Incorrect type. Expected pk value, received dict."
	}
	return 0, "Incorrect type. Expected pk value, received NoneType."
}
