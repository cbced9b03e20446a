package approval

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// Limits that keep a hostile or careless condition from costing much: the
// expression size is bounded when compiled and its evaluation cost when run.
const (
	maxConditionLength = 4096
	maxConditionCost   = 100_000
	maxCachedPrograms  = 1024
)

// ConditionError reports a policy condition that cannot be used at all: it
// does not compile, or it does not return a bool. Policy is set when the
// error comes from ResolvePlan.
type ConditionError struct {
	Policy  string
	Message string
}

func (e *ConditionError) Error() string {
	if e.Policy != "" {
		return "policy " + quote(e.Policy) + ": " + e.Message
	}
	return e.Message
}

// CheckCondition validates a policy condition before it is saved: it must
// compile against the variables a condition sees and return a bool. An
// empty condition is valid (it always matches). The error is a
// *ConditionError whose message can be shown to the policy's author.
func CheckCondition(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	if _, err := compileCondition(expr); err != nil {
		return err
	}
	return nil
}

type condition struct {
	program cel.Program
}

var (
	conditionEnvOnce sync.Once
	conditionEnv     *cel.Env
	conditionEnvErr  error

	programCacheMu sync.Mutex
	programCache   = map[string]*condition{}
)

func env() (*cel.Env, error) {
	conditionEnvOnce.Do(func() {
		dynMap := cel.MapType(cel.StringType, cel.DynType)
		conditionEnv, conditionEnvErr = cel.NewEnv(
			cel.Variable("item", dynMap),
			cel.Variable("requester", dynMap),
			cel.Variable("extra_vars", dynMap),
			cel.Variable("node_survey_data", dynMap),
			cel.Variable("justification", cel.StringType),
			// Survey answers arrive as JSON numbers; `extra_vars.ttl_days > 5`
			// must work whether the answer decoded as an int or a double.
			cel.CrossTypeNumericComparisons(true),
			cel.ParserExpressionSizeLimit(maxConditionLength),
		)
	})
	return conditionEnv, conditionEnvErr
}

// compileCondition compiles and type-checks expr, caching the program:
// policies are few and their conditions are evaluated on every submission.
func compileCondition(expr string) (*condition, *ConditionError) {
	programCacheMu.Lock()
	c, ok := programCache[expr]
	programCacheMu.Unlock()
	if ok {
		return c, nil
	}
	if len(expr) > maxConditionLength {
		return nil, &ConditionError{Message: fmt.Sprintf("condition is longer than %d characters", maxConditionLength)}
	}
	e, err := env()
	if err != nil {
		return nil, &ConditionError{Message: "condition environment: " + err.Error()}
	}
	ast, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, &ConditionError{Message: "condition does not compile: " + iss.Err().Error()}
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, &ConditionError{Message: fmt.Sprintf(
			"condition must return a bool, not %s; compare explicitly, e.g. extra_vars.flag == true",
			ast.OutputType())}
	}
	prg, err := e.Program(ast, cel.CostLimit(maxConditionCost))
	if err != nil {
		return nil, &ConditionError{Message: "condition cannot run: " + err.Error()}
	}
	c = &condition{program: prg}
	programCacheMu.Lock()
	if len(programCache) >= maxCachedPrograms {
		programCache = map[string]*condition{}
	}
	programCache[expr] = c
	programCacheMu.Unlock()
	return c, nil
}

func (c *condition) eval(activation map[string]any) (bool, error) {
	out, _, err := c.program.Eval(activation)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition returned %s, not a bool", out.Type())
	}
	return bool(b), nil
}

// conditionInput builds the variables a condition sees. Numbers are
// normalised so an integral answer is a CEL int: `extra_vars.count == 3`
// then holds whether the answer was decoded as 3 or 3.0.
func conditionInput(s Subject) map[string]any {
	tags := s.Item.Tags
	if tags == nil {
		tags = []string{}
	}
	teams := s.Requester.Teams
	if teams == nil {
		teams = []string{}
	}
	item := map[string]any{
		"id":                s.Item.ID,
		"name":              s.Item.Name,
		"description":       s.Item.Description,
		"category":          s.Item.Category,
		"tags":              toAnySlice(tags),
		"organization":      s.Item.Organization,
		"requires_approval": s.Item.RequiresApproval,
		"is_workflow":       s.Item.IsWorkflow,
		"approver_team":     "",
	}
	if s.Item.ApproverTeam != nil {
		item["approver_team"] = s.Item.ApproverTeam.Name
	}
	nodes := make(map[string]any, len(s.NodeSurveyData))
	for id, answers := range s.NodeSurveyData {
		nodes[id] = normalize(map[string]any(answers))
	}
	return map[string]any{
		"item":             item,
		"requester":        map[string]any{"username": s.Requester.Username, "teams": toAnySlice(teams)},
		"extra_vars":       normalize(s.ExtraVars),
		"node_survey_data": nodes,
		"justification":    s.Justification,
	}
}

func toAnySlice(in []string) []any {
	out := make([]any, len(in))
	for i, v := range in {
		out[i] = v
	}
	return out
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return map[string]any{}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalize(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case int:
		return int64(x)
	case []string:
		return toAnySlice(x)
	}
	return v
}
