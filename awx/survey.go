package awx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Survey question types (AWX's SURVEY_TYPE_MAPPING).
const (
	QuestionText           = "text"
	QuestionTextarea       = "textarea"
	QuestionPassword       = "password"
	QuestionInteger        = "integer"
	QuestionFloat          = "float"
	QuestionMultipleChoice = "multiplechoice"
	QuestionMultiSelect    = "multiselect"
)

// Survey is a template's survey spec. A template without a survey has an
// empty Survey (no Spec). The survey only applies at launch while the
// template's SurveyEnabled is true.
type Survey struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Spec        []Question `json:"spec"`
}

// Question is one survey question. Decoding accepts the shapes AWX has
// stored over the years; the fields always hold the normalised form, and
// encoding a Question and decoding it again yields the same value.
type Question struct {
	QuestionName        string `json:"question_name"`
	QuestionDescription string `json:"question_description"`
	// Required questions must be answered at launch even when they have a
	// default (AWX reports them missing otherwise).
	Required bool   `json:"required"`
	Type     string `json:"type"`
	Variable string `json:"variable"`
	// Choices of a multiplechoice or multiselect question. AWX accepts a
	// list or a newline-separated string; the string form is split here,
	// without its blank lines. Items keep their JSON type (string,
	// json.Number or bool): AWX compares answers with them as Python's
	// `in` does, so the choice 1 takes the answer 1 (or 1.0), never "1".
	// Null when a question has none.
	Choices []any `json:"choices" openapi:"nullable"`
	// Default is the default answer as AWX stores it: a string (for
	// multiselect possibly "a\nb"), a number (json.Number, with AWX's
	// digits), a list, or nil. Password defaults read "$encrypted$".
	Default any `json:"default"`
	// Min and Max bound the value of integer and float questions and the
	// length of text ones. nil means unset (AWX stores null or "").
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`
}

// UnmarshalJSON normalises choices, min and max (see Question).
func (q *Question) UnmarshalJSON(data []byte) error {
	type plain Question // without this method, to avoid recursion
	var w struct {
		plain
		Choices json.RawMessage `json:"choices"`
		Default json.RawMessage `json:"default"`
		Min     json.RawMessage `json:"min"`
		Max     json.RawMessage `json:"max"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	out := Question(w.plain)
	var err error
	if out.Default, err = decodeExact(w.Default); err != nil {
		return fmt.Errorf("survey question %q: default: %w", out.Variable, err)
	}
	if out.Choices, err = decodeChoices(w.Choices); err != nil {
		return fmt.Errorf("survey question %q: choices: %w", out.Variable, err)
	}
	if out.Min, err = decodeBound(w.Min); err != nil {
		return fmt.Errorf("survey question %q: min: %w", out.Variable, err)
	}
	if out.Max, err = decodeBound(w.Max); err != nil {
		return fmt.Errorf("survey question %q: max: %w", out.Variable, err)
	}
	*q = out
	return nil
}

// DefaultList returns the default of a multiselect question as a list: AWX
// accepts it as "a\nb" or as a list. Blank lines and non-string items are
// dropped; nil means no default.
func (q Question) DefaultList() []string {
	switch d := q.Default.(type) {
	case string:
		return splitLines(d)
	case []any:
		var out []string
		for _, v := range d {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return d
	}
	return nil
}

// decodeExact decodes a JSON value with numbers as json.Number; absent or
// null gives nil.
func decodeExact(raw json.RawMessage) (any, error) {
	if isNull(raw) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func decodeChoices(raw json.RawMessage) ([]any, error) {
	v, err := decodeExact(raw)
	if err != nil {
		return nil, err
	}
	switch c := v.(type) {
	case nil:
		return nil, nil
	case string:
		var out []any
		for _, line := range splitLines(c) {
			out = append(out, line)
		}
		return out, nil
	case []any:
		for _, item := range c {
			switch item.(type) {
			case string, json.Number, bool:
			default:
				return nil, fmt.Errorf("choice %s is not a string, a number or a boolean", raw)
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("want a list or a string, got %s", raw)
}

// decodeBound reads a survey min or max: a number, null, "" or a numeric
// string (AWX converts those with int()).
func decodeBound(raw json.RawMessage) (*float64, error) {
	if isNull(raw) {
		return nil, nil
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return &f, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("want a number, null or \"\", got %s", raw)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("want a number, null or \"\", got %q", s)
	}
	return &f, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// splitLines splits AWX's newline-separated lists, dropping blank lines the
// way AWX does when it validates answers.
func splitLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

// Survey returns the survey of template id of kind k; an empty Survey when
// it has none (AWX answers {}).
func (c *Client) Survey(ctx context.Context, k TemplateKind, id int64) (Survey, error) {
	var s Survey
	if err := k.check(); err != nil {
		return s, err
	}
	err := c.getJSON(ctx, k.path(id, "survey_spec/"), nil, &s)
	return s, err
}
