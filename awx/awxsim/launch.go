package awxsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"

	"github.com/countersign/countersign/awx/pyrepr"
)

// Promptable launch fields other than extra_vars and labels, with the
// template's own value. The simulated templates never prompt for them, so
// sending a different value is ignored (job templates) or refused
// (workflow job templates); sending the template's value is a no-op.
var (
	jobPromptFields = map[string]any{
		"inventory": demoInventoryID, "credentials": []any{demoCredentialID}, "limit": "", "job_tags": "",
		"skip_tags": "", "scm_branch": "", "job_type": "run", "verbosity": 0, "diff_mode": false,
		"execution_environment": nil, "forks": 0, "job_slice_count": 1, "timeout": 0, "instance_groups": []any{},
	}
	workflowPromptFields = map[string]any{
		"inventory": nil, "limit": "", "scm_branch": "", "job_tags": "", "skip_tags": "",
	}
)

const notPrompted = "Field is not configured to prompt on launch."

// readBody reads a request body up to maxBodyBytes.
func readBody(r *http.Request) ([]byte, *apiError) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, detailError(http.StatusBadRequest, "JSON parse error - "+err.Error())
	}
	if len(raw) > maxBodyBytes {
		return nil, detailError(http.StatusBadRequest, "Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
	}
	return raw, nil
}

// parseObject parses a body as DRF's JSONParser does for views that need
// an object. An empty body is an empty object, as for DRF.
func parseObject(r *http.Request, raw []byte) (map[string]any, *apiError) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, detailError(http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", ct))
		}
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, detailError(http.StatusBadRequest, "JSON parse error - "+err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, detailError(http.StatusBadRequest, "JSON parse error - not a JSON object")
	}
	return obj, nil
}

func readObject(r *http.Request) (map[string]any, *apiError) {
	raw, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return parseObject(r, raw)
}

// postLaunch creates a job (201) or refuses the launch without creating
// anything (400, 404).
func (s *Server) postLaunch(k Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, aerr := readBody(r)
		if aerr != nil {
			aerr.write(w)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		// AWX looks the template up before it parses the body.
		t := s.templateFromPath(k, r)
		if t == nil {
			notFound().write(w)
			return
		}
		body, aerr := parseObject(r, raw)
		if aerr != nil {
			aerr.write(w)
			return
		}
		res, aerr := s.evaluateLaunch(t, body)
		if aerr != nil {
			aerr.write(w)
			return
		}
		j := s.createJob(t, res)
		m := s.jobRepr(j, j.phaseAt(s.now()), true)
		m[string(k)] = j.id
		m["ignored_fields"] = res.ignored
		w.Header().Set("Location", jobURL(k, j.id))
		writeJSON(w, http.StatusCreated, m)
	}
}

// launchResult is what a valid launch request contributes to its job.
type launchResult struct {
	vars    map[string]any // accepted launch-time extra_vars
	labels  []*label
	ignored map[string]any // ignored_fields
}

// evaluateLaunch applies AWX's launch serializer: field validation first,
// then survey and prompt rules. Job templates drop what they do not prompt
// for into ignored_fields; workflow job templates refuse it.
func (s *Server) evaluateLaunch(t *template, body map[string]any) (launchResult, *apiError) {
	strict := t.kind == KindWorkflowJob
	fieldErrs := map[string][]string{}
	vars := map[string]any{}
	if raw, ok := body["extra_vars"]; ok && raw != nil {
		parsed, msg := parseExtraVars(raw)
		if msg != "" {
			fieldErrs["extra_vars"] = []string{msg}
		}
		vars = parsed
	}
	var labels []*label
	var labelIDs []any
	seen := map[int64]bool{}
	if raw, ok := body["labels"]; ok && raw != nil {
		list, isList := raw.([]any)
		if !isList {
			fieldErrs["labels"] = []string{fmt.Sprintf("Expected a list of items but got type %q.", pyType(raw))}
		}
		for _, item := range list {
			id, msg := parsePK(item)
			l := s.labelByID(id)
			if msg == "" && l == nil {
				msg = fmt.Sprintf("Invalid pk \"%s\" - object does not exist.", pyrepr.Str(item))
			}
			if msg != "" {
				fieldErrs["labels"] = append(fieldErrs["labels"], msg)
				continue
			}
			if !seen[id] {
				seen[id] = true
				labels, labelIDs = append(labels, l), append(labelIDs, id)
			}
		}
	}
	if len(fieldErrs) > 0 {
		return launchResult{}, &apiError{status: http.StatusBadRequest, body: fieldErrs}
	}

	errs := map[string][]string{}
	ignored := map[string]any{}
	accepted, rejected := acceptVariables(t, vars, errs, strict)
	if len(rejected) > 0 {
		ignored["extra_vars"] = rejected
	}
	if len(labels) > 0 && !t.askLabels {
		ignored["labels"] = labelIDs
		labels = nil
		if strict {
			errs["labels"] = []string{notPrompted}
		}
	}
	fields := jobPromptFields
	if strict {
		fields = workflowPromptFields
	}
	for name, own := range fields {
		v, ok := body[name]
		if !ok || v == nil || sameJSON(v, own) {
			continue
		}
		ignored[name] = v
		if strict {
			errs[name] = []string{notPrompted}
		}
	}
	if len(errs) > 0 {
		return launchResult{}, &apiError{status: http.StatusBadRequest, body: errs}
	}
	return launchResult{vars: accepted, labels: labels, ignored: ignored}, nil
}

// acceptVariables is AWX's _accept_or_ignore_variables: survey answers are
// validated (errors under variables_needed_to_start), everything is
// accepted when the template prompts for variables, values equal to the
// template's own are dropped silently, and the rest is rejected, which
// only workflow job templates report as an error.
func acceptVariables(t *template, data map[string]any, errs map[string][]string, strict bool) (accepted, rejected map[string]any) {
	rest := map[string]any{}
	for k, v := range data {
		rest[k] = v
	}
	accepted, rejected = map[string]any{}, map[string]any{}
	if t.surveyActive() {
		var surveyErrs []string
		for _, q := range t.survey.Spec {
			v, present := rest[q.Variable]
			if e := validateAnswer(q, data); len(e) > 0 {
				surveyErrs = append(surveyErrs, e...)
				if present {
					rejected[q.Variable] = v
				}
			} else if present {
				accepted[q.Variable] = v
			}
			delete(rest, q.Variable)
		}
		if len(surveyErrs) > 0 {
			errs["variables_needed_to_start"] = surveyErrs
		}
	}
	if t.askVariables {
		for k, v := range rest {
			accepted[k] = v
		}
		return accepted, rejected
	}
	for k, v := range rest {
		if own, ok := t.extraVars[k]; ok && sameJSON(own, v) {
			delete(rest, k)
		}
	}
	if len(rest) == 0 {
		return accepted, rejected
	}
	for k, v := range rest {
		rejected[k] = v
	}
	if strict {
		keys := sortedKeys(rest)
		errs["extra_vars"] = []string{fmt.Sprintf("Variables %s are not allowed on launch. Check the Prompt on Launch setting on the Workflow Job Template to include Extra Variables.", strings.Join(keys, ", "))}
	}
	return accepted, rejected
}

// parseExtraVars accepts an object, or a string holding a JSON object (or
// an empty YAML document, as "---" is). Other YAML is not understood.
func parseExtraVars(raw any) (map[string]any, string) {
	switch x := raw.(type) {
	case map[string]any:
		return x, ""
	case string:
		text := strings.TrimSpace(x)
		if text == "" || text == "---" || text == `""` {
			return map[string]any{}, ""
		}
		v, err := decodeValue(json.RawMessage(text))
		if err != nil {
			return nil, fmt.Sprintf("Cannot parse as JSON (error: %v) or YAML (error: only JSON extra_vars are supported here).", err)
		}
		if m, ok := v.(map[string]any); ok {
			return m, ""
		}
		raw = v
	}
	msg := fmt.Sprintf("Input type `%s` is not a dictionary", pyType(raw))
	return nil, fmt.Sprintf("Cannot parse as JSON (error: %s) or YAML (error: %s).", msg, msg)
}

// pyType is the Python type name of a decoded JSON value.
func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case json.Number:
		if isIntLiteral(x) {
			return "int"
		}
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// sameJSON compares values as JSON, so 1 and json.Number("1") are equal.
func sameJSON(a, b any) bool {
	ra, errA := json.Marshal(a)
	rb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ra, rb)
}

// createJob records a job of t for a valid launch. Variables combine as in
// AWX, lowest precedence first: the template's extra_vars, the survey
// defaults that are valid answers, the accepted launch values. A password
// answered "$encrypted$" falls back to its default. s.mu must be held.
func (s *Server) createJob(t *template, res launchResult) *job {
	vars := map[string]any{}
	for k, v := range t.extraVars {
		vars[k] = v
	}
	runtime := map[string]any{}
	for k, v := range res.vars {
		runtime[k] = v
	}
	var passwords []string
	if t.surveyActive() {
		for _, q := range t.survey.Spec {
			if q.Type == QuestionPassword {
				passwords = append(passwords, q.Variable)
				if runtime[q.Variable] == encrypted {
					delete(runtime, q.Variable)
				}
			}
			if q.Default != nil && len(validateAnswer(q, map[string]any{q.Variable: q.Default})) == 0 {
				vars[q.Variable] = q.Default
			}
		}
	}
	for k, v := range runtime {
		vars[k] = v
	}
	for _, p := range passwords {
		if _, ok := vars[p]; ok {
			vars[p] = encrypted
		}
	}
	explanation := t.explanation
	if t.outcome != StatusSuccessful && explanation == "" {
		explanation = defaultExplanation(t.kind, t.outcome)
	}
	duration, pendingFor := s.jobTiming(t)
	j := &job{
		id: s.nextJobID, kind: t.kind, tmpl: t, created: s.now(),
		pendingFor: pendingFor, duration: duration, outcome: t.outcome, explanation: explanation,
		extraVars: vars, labels: res.labels, ignored: res.ignored, createdBy: s.cfg.Username,
	}
	sort.Slice(j.labels, func(a, b int) bool { return j.labels[a].id < j.labels[b].id })
	s.nextJobID++
	s.jobs = append(s.jobs, j)
	s.jobByID[j.id] = j
	return j
}
