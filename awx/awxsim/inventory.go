package awxsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a unified job as AWX names it.
type Kind string

// Job kinds.
const (
	KindJob         Kind = "job"
	KindWorkflowJob Kind = "workflow_job"
)

// Job statuses the simulator produces. Every terminal status except
// successful makes a job's "failed" field true.
const (
	StatusPending    = "pending"
	StatusRunning    = "running"
	StatusSuccessful = "successful"
	StatusFailed     = "failed"
	StatusError      = "error"
	StatusCanceled   = "canceled"
)

// Inventory is the set of templates a Server serves.
type Inventory struct {
	JobTemplates         []JobTemplate
	WorkflowJobTemplates []WorkflowJobTemplate
}

// JobTemplate defines an AWX job template.
type JobTemplate struct {
	ID           int64
	Name         string
	Description  string
	Organization int64 // 0 means 1, AWX's "Default" organization
	// Survey is shown at /survey_spec/ and, while SurveyEnabled, validates
	// and completes the extra_vars of every launch.
	Survey               *Survey
	SurveyEnabled        bool
	AskVariablesOnLaunch bool
	AskLabelsOnLaunch    bool
	// ExtraVars are the template's own variables, the lowest precedence.
	ExtraVars map[string]any
	// Outcome is the terminal status of its jobs: StatusSuccessful (the
	// default, also for ""), StatusFailed or StatusError.
	Outcome string
	// Explanation is the job_explanation of a job that fails or errors. An
	// AWX-like text is used when empty.
	Explanation string
	// Duration overrides Config.JobDuration for this template's jobs.
	Duration time.Duration
}

// WorkflowJobTemplate defines an AWX workflow job template. Its fields mean
// what they mean on JobTemplate. A workflow never ends in error in AWX, so
// an Outcome of StatusError ends its jobs as failed.
type WorkflowJobTemplate struct {
	ID                   int64
	Name                 string
	Description          string
	Organization         int64
	Survey               *Survey
	SurveyEnabled        bool
	AskVariablesOnLaunch bool
	AskLabelsOnLaunch    bool
	ExtraVars            map[string]any
	Outcome              string
	Explanation          string
	Duration             time.Duration
	// Nodes are shown at /workflow_nodes/. Launching does not spawn jobs for
	// them; the workflow job's status follows Outcome.
	Nodes []WorkflowNode
}

// WorkflowNode is a node of a workflow job template. Node ids are unique
// across all workflow job templates, as in AWX.
type WorkflowNode struct {
	ID int64
	// Identifier is the node's stable name, unique within its workflow.
	Identifier string
	// UnifiedJobTemplate is the id of the node's job template; 0 makes a
	// broken node (AWX shows null).
	UnifiedJobTemplate int64
	SuccessNodes       []int64
	FailureNodes       []int64
	AlwaysNodes        []int64
	// ExtraData is the node's saved extra_vars prompt.
	ExtraData map[string]any
}

// Survey is a survey spec in AWX's shape.
type Survey struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Spec        []SurveyQuestion `json:"spec"`
}

// Survey question types, AWX's SURVEY_TYPE_MAPPING.
const (
	QuestionText           = "text"
	QuestionTextarea       = "textarea"
	QuestionPassword       = "password"
	QuestionInteger        = "integer"
	QuestionFloat          = "float"
	QuestionMultipleChoice = "multiplechoice"
	QuestionMultiSelect    = "multiselect"
)

// SurveyQuestion is one question of a Survey. Decoding accepts the forms
// AWX stores: choices as a list or a newline-separated string, min and max
// as a number, null or "".
type SurveyQuestion struct {
	Type                string `json:"type"`
	QuestionName        string `json:"question_name"`
	QuestionDescription string `json:"question_description"`
	Variable            string `json:"variable"`
	// Required questions must be answered at every launch, even when they
	// have a default.
	Required bool `json:"required"`
	// Default is merged into a job's extra_vars when it is itself a valid
	// answer (so a multiselect default given as "a\nb" is not, as in AWX).
	// nil means no default.
	Default any `json:"default"`
	// Choices of multiplechoice and multiselect questions.
	Choices []string `json:"choices"`
	// Min and Max bound numbers, or the length of text answers. nil is unset.
	Min *int `json:"min"`
	Max *int `json:"max"`
}

// UnmarshalJSON accepts AWX's stored forms of choices, min and max.
func (q *SurveyQuestion) UnmarshalJSON(data []byte) error {
	var w struct {
		Type                string          `json:"type"`
		QuestionName        string          `json:"question_name"`
		QuestionDescription string          `json:"question_description"`
		Variable            string          `json:"variable"`
		Required            bool            `json:"required"`
		Default             json.RawMessage `json:"default"`
		Choices             json.RawMessage `json:"choices"`
		Min                 json.RawMessage `json:"min"`
		Max                 json.RawMessage `json:"max"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	out := SurveyQuestion{Type: w.Type, QuestionName: w.QuestionName, QuestionDescription: w.QuestionDescription,
		Variable: w.Variable, Required: w.Required}
	var err error
	if len(w.Default) > 0 {
		if out.Default, err = decodeValue(w.Default); err != nil {
			return fmt.Errorf("survey question %q: default: %w", w.Variable, err)
		}
	}
	if out.Choices, err = decodeChoices(w.Choices); err != nil {
		return fmt.Errorf("survey question %q: choices: %w", w.Variable, err)
	}
	if out.Min, err = decodeBound(w.Min); err != nil {
		return fmt.Errorf("survey question %q: min: %w", w.Variable, err)
	}
	if out.Max, err = decodeBound(w.Max); err != nil {
		return fmt.Errorf("survey question %q: max: %w", w.Variable, err)
	}
	*q = out
	return nil
}

// MarshalJSON writes choices as a list for choice questions and as "" for
// the others, as AWX's UI stores them.
func (q SurveyQuestion) MarshalJSON() ([]byte, error) {
	var choices any = ""
	if q.Type == QuestionMultipleChoice || q.Type == QuestionMultiSelect || len(q.Choices) > 0 {
		choices = append([]string{}, q.Choices...)
	}
	m := map[string]any{
		"type": q.Type, "question_name": q.QuestionName, "question_description": q.QuestionDescription,
		"variable": q.Variable, "required": q.Required, "choices": choices, "min": q.Min, "max": q.Max,
	}
	if q.Default != nil {
		m["default"] = q.Default
	}
	return json.Marshal(m)
}

func decodeChoices(raw json.RawMessage) ([]string, error) {
	v, err := decodeValue(raw)
	if err != nil {
		return nil, err
	}
	switch c := v.(type) {
	case nil:
		return nil, nil
	case string:
		var out []string
		for _, line := range strings.Split(c, "\n") {
			if strings.TrimSpace(line) != "" {
				out = append(out, line)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(c))
		for _, item := range c {
			str, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("choice %v is not a string", item)
			}
			out = append(out, str)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a list or a string, got %s", raw)
}

func decodeBound(raw json.RawMessage) (*int, error) {
	v, err := decodeValue(raw)
	if err != nil {
		return nil, err
	}
	var text string
	switch b := v.(type) {
	case nil:
		return nil, nil
	case string:
		text = strings.TrimSpace(b)
		if text == "" {
			return nil, nil
		}
	case json.Number:
		text = b.String()
	default:
		return nil, fmt.Errorf("want an integer, null or \"\", got %s", raw)
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return nil, fmt.Errorf("want an integer, got %s", raw)
	}
	return &n, nil
}

// decodeValue decodes JSON keeping numbers as json.Number, so that 3 and
// 3.0 stay distinguishable as they are for AWX's Python.
func decodeValue(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// normalize deep-copies v through JSON so values built in Go (int, []string,
// structs) take the same shapes as decoded request bodies.
func normalize(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeValue(raw)
}

func normalizeMap(m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	v, err := normalize(m)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// template is the internal form of both template kinds; kind is the kind
// of job it launches.
type template struct {
	kind                 Kind
	id                   int64
	name, description    string
	organization         int64
	survey               *Survey
	surveyEnabled        bool
	askVariables         bool
	askLabels            bool
	extraVars            map[string]any
	outcome, explanation string
	duration             time.Duration
	nodes                []WorkflowNode
}

// surveyActive is AWX's condition for applying a survey at launch.
func (t *template) surveyActive() bool {
	return t.surveyEnabled && t.survey != nil && len(t.survey.Spec) > 0
}

// AddJobTemplate adds jt, replacing a job template with the same id. It
// returns an error for a non-positive id, an unknown Outcome or an invalid
// survey (unknown type, empty or duplicated variable, choice question
// without choices). The template is copied.
func (s *Server) AddJobTemplate(jt JobTemplate) error {
	t, err := newTemplate(KindJob, jt.ID, jt.Name, jt.Description, jt.Organization, jt.Survey, jt.SurveyEnabled,
		jt.AskVariablesOnLaunch, jt.AskLabelsOnLaunch, jt.ExtraVars, jt.Outcome, jt.Explanation, jt.Duration)
	if err != nil {
		return fmt.Errorf("job template %d: %w", jt.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jts[t.id] = t
	return nil
}

// AddWorkflowJobTemplate adds wf, replacing a workflow job template with the
// same id. Besides AddJobTemplate's checks, node ids must be positive and
// not used by another workflow, and identifiers unique within wf. Nodes may
// name job templates that do not exist (yet): AWX shows such nodes as
// broken.
func (s *Server) AddWorkflowJobTemplate(wf WorkflowJobTemplate) error {
	t, err := newTemplate(KindWorkflowJob, wf.ID, wf.Name, wf.Description, wf.Organization, wf.Survey, wf.SurveyEnabled,
		wf.AskVariablesOnLaunch, wf.AskLabelsOnLaunch, wf.ExtraVars, wf.Outcome, wf.Explanation, wf.Duration)
	if err != nil {
		return fmt.Errorf("workflow job template %d: %w", wf.ID, err)
	}
	if t.outcome == StatusError {
		t.outcome = StatusFailed
	}
	ids, idents := map[int64]bool{}, map[string]bool{}
	for _, n := range wf.Nodes {
		if n.ID <= 0 || ids[n.ID] {
			return fmt.Errorf("workflow job template %d: node id %d is not positive or repeated", wf.ID, n.ID)
		}
		if n.Identifier == "" || idents[n.Identifier] {
			return fmt.Errorf("workflow job template %d: node %d: identifier %q is empty or repeated", wf.ID, n.ID, n.Identifier)
		}
		ids[n.ID], idents[n.Identifier] = true, true
		data, err := normalizeMap(n.ExtraData)
		if err != nil {
			return fmt.Errorf("workflow job template %d: node %d: extra data: %w", wf.ID, n.ID, err)
		}
		n.ExtraData = data
		n.SuccessNodes = append([]int64{}, n.SuccessNodes...)
		n.FailureNodes = append([]int64{}, n.FailureNodes...)
		n.AlwaysNodes = append([]int64{}, n.AlwaysNodes...)
		t.nodes = append(t.nodes, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.wfjts {
		if other.id == t.id {
			continue
		}
		for _, n := range other.nodes {
			if ids[n.ID] {
				return fmt.Errorf("workflow job template %d: node id %d is used by workflow job template %d", wf.ID, n.ID, other.id)
			}
		}
	}
	s.wfjts[t.id] = t
	return nil
}

func newTemplate(kind Kind, id int64, name, description string, org int64, survey *Survey, surveyEnabled,
	askVars, askLabels bool, extraVars map[string]any, outcome, explanation string, d time.Duration) (*template, error) {
	if id <= 0 {
		return nil, errors.New("id must be positive")
	}
	switch outcome {
	case "":
		outcome = StatusSuccessful
	case StatusSuccessful, StatusFailed, StatusError:
	default:
		return nil, fmt.Errorf("unknown outcome %q", outcome)
	}
	if org == 0 {
		org = 1
	}
	vars, err := normalizeMap(extraVars)
	if err != nil {
		return nil, fmt.Errorf("extra vars: %w", err)
	}
	t := &template{kind: kind, id: id, name: name, description: description, organization: org,
		surveyEnabled: surveyEnabled, askVariables: askVars, askLabels: askLabels, extraVars: vars,
		outcome: outcome, explanation: explanation, duration: d}
	if survey != nil {
		if t.survey, err = copySurvey(survey); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// copySurvey validates s and deep-copies it through its JSON form, which
// also brings Go-typed defaults to the shapes launch bodies have.
func copySurvey(s *Survey) (*Survey, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("survey: %w", err)
	}
	var out Survey
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("survey: %w", err)
	}
	seen := map[string]bool{}
	for i, q := range out.Spec {
		switch q.Type {
		case QuestionText, QuestionTextarea, QuestionPassword, QuestionInteger, QuestionFloat:
		case QuestionMultipleChoice, QuestionMultiSelect:
			if len(q.Choices) == 0 {
				return nil, fmt.Errorf("survey question %d: %s question needs choices", i, q.Type)
			}
		default:
			return nil, fmt.Errorf("survey question %d: unknown type %q", i, q.Type)
		}
		if q.Variable == "" || seen[q.Variable] {
			return nil, fmt.Errorf("survey question %d: variable %q is empty or duplicated", i, q.Variable)
		}
		seen[q.Variable] = true
	}
	return &out, nil
}
