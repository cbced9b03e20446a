package approval

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
)

// Limits on policy conditions. A condition is written by an organization's
// admin but evaluated on every submission and launch form of the
// organization, by any requester, with answers the requester chooses: these
// bound what one condition, and one organization's policies, can cost.
// bench_test.go measures the worst case they allow; the README quotes it.
const (
	// MaxConditionLength bounds a condition's size in bytes.
	MaxConditionLength = 2048
	// MaxConditionDepth bounds how deeply a condition's expressions nest.
	MaxConditionDepth = 32
	// MaxComprehensions bounds the macros that loop (all, exists,
	// exists_one, filter, map) in one condition.
	MaxComprehensions = 8
	// MaxComprehensionNesting bounds how many loops may run inside each
	// other (a loop over another's result does not nest).
	MaxComprehensionNesting = 2
	// MaxConditionCost bounds one evaluation: each call costs one, plus
	// one per list element, map entry or ten bytes of text it works on
	// (see callCost). An evaluation that reaches it stops and fails
	// closed.
	MaxConditionCost = 5_000
	// MaxPolicies bounds an organization's policies, so that resolving a
	// plan evaluates at most MaxPolicies conditions of at most
	// MaxConditionCost each.
	MaxPolicies = 50
)

// maxConditionNodes bounds the expression nodes the parser may build,
// macro expansions included.
const maxConditionNodes = 1000

// ConditionError reports a policy condition that cannot be used at all: it
// does not compile, breaks a limit, or does not return a bool.
type ConditionError struct {
	Message string
}

func (e *ConditionError) Error() string { return e.Message }

// CheckCondition validates a policy condition before it is saved: it must
// stay within the limits above, type-check against the variables a
// condition sees (an unknown field of item or requester is an error naming
// it) and return a bool. An empty condition is valid (it always matches).
// The error is a *ConditionError whose message can be shown to the
// policy's author. Nothing is cached: only saved policies' conditions are,
// by ResolvePlan.
func CheckCondition(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return nil
	}
	if _, err := compileCondition(expr); err != nil {
		return err
	}
	return nil
}

var compiles atomic.Uint64

// ConditionCompiles is how many times this process started compiling a
// condition (checked at save, or compiled for a plan because it was not
// cached yet), whatever the outcome. The API exports it as a metric.
func ConditionCompiles() uint64 { return compiles.Load() }

// conditionItem and conditionRequester are what a condition sees as `item`
// and `requester`: typed, so that a misspelt field is an error when the
// policy is saved rather than a failure on every request.
type conditionItem struct {
	ID               int64    `cel:"id"`
	Name             string   `cel:"name"`
	Description      string   `cel:"description"`
	Category         string   `cel:"category"`
	Tags             []string `cel:"tags"`
	Organization     string   `cel:"organization"`
	RequiresApproval bool     `cel:"requires_approval"`
	IsWorkflow       bool     `cel:"is_workflow"`
	ApproverTeam     string   `cel:"approver_team"`
}

type conditionRequester struct {
	Username string   `cel:"username"`
	Teams    []string `cel:"teams"`
}

const (
	itemType      = "countersign.Item"
	requesterType = "countersign.Requester"
)

type condition struct {
	program cel.Program
}

var (
	conditionEnvOnce sync.Once
	conditionEnv     *cel.Env
	conditionEnvErr  error
)

func env() (*cel.Env, error) {
	conditionEnvOnce.Do(func() {
		dynMap := cel.MapType(cel.StringType, cel.DynType)
		conditionEnv, conditionEnvErr = cel.NewEnv(
			ext.NativeTypes(
				cel.NativeTypeFor[conditionItem](cel.NativeTypeAlias(itemType)),
				cel.NativeTypeFor[conditionRequester](cel.NativeTypeAlias(requesterType)),
				ext.ParseStructTags(true),
			),
			cel.Variable("item", cel.ObjectType(itemType)),
			cel.Variable("requester", cel.ObjectType(requesterType)),
			// Survey answers: their keys come from the templates' surveys.
			cel.Variable("extra_vars", dynMap),
			cel.Variable("node_survey_data", dynMap),
			cel.Variable("justification", cel.StringType),
			// Survey answers arrive as JSON numbers; `extra_vars.ttl_days > 5`
			// must work whether the answer decoded as an int or a double.
			cel.CrossTypeNumericComparisons(true),
			cel.ParserExpressionSizeLimit(MaxConditionLength),
			cel.ParserRecursionLimit(MaxConditionDepth),
			cel.ExpressionNodeLimit(maxConditionNodes),
			cel.RegexProgramSizeLimit(maxRegexProgram),
			cel.ASTValidators(cel.ValidateRegexLiterals()),
		)
	})
	return conditionEnv, conditionEnvErr
}

// compileCondition parses expr, checks its shape against the limits before
// the type checker sees it (the checker's work can grow exponentially with
// the size of the types a condition builds), type-checks it and plans it
// with the evaluation cost limit.
func compileCondition(expr string) (*condition, *ConditionError) {
	compiles.Add(1)
	if len(expr) > MaxConditionLength {
		return nil, &ConditionError{Message: fmt.Sprintf("condition is longer than %d bytes", MaxConditionLength)}
	}
	e, err := env()
	if err != nil {
		return nil, &ConditionError{Message: "condition environment: " + err.Error()}
	}
	parsed, iss := e.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, &ConditionError{Message: "condition does not compile: " + iss.Err().Error()}
	}
	if msg := checkShape(parsed.NativeRep().Expr()); msg != "" {
		return nil, &ConditionError{Message: "condition is too complex: " + msg}
	}
	checked, iss := e.Check(parsed)
	if iss != nil && iss.Err() != nil {
		return nil, &ConditionError{Message: "condition does not compile: " + iss.Err().Error()}
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, &ConditionError{Message: fmt.Sprintf(
			"condition must return a bool, not %s; compare explicitly, e.g. extra_vars.flag == true",
			checked.OutputType())}
	}
	matches, err := matchesOverride(checked.NativeRep().Expr())
	if err != nil {
		return nil, &ConditionError{Message: "condition does not compile: " + err.Error()}
	}
	prg, err := e.Program(checked, matches, cel.CostTracking(callCost{}), cel.CostLimit(MaxConditionCost))
	if err != nil {
		return nil, &ConditionError{Message: "condition cannot run: " + err.Error()}
	}
	return &condition{program: prg}, nil
}

func (c *condition) eval(activation map[string]any) (bool, error) {
	out, _, err := c.program.Eval(activation)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, errNotBool
	}
	return bool(b), nil
}

// maxConditionValues bounds the answers conditions are evaluated on: every
// answer, list element and map entry of extra_vars and node_survey_data
// counts one. A call is charged only once it has run, and comparing or
// searching a list runs through all of it, so without this bound one call
// on a huge answer could cost far more than MaxConditionCost allows.
const maxConditionValues = 5000

// conditionInput is the variables a condition sees; tooLarge is set when
// the answers hold more than maxConditionValues values.
type conditionInput struct {
	vars     map[string]any
	tooLarge bool
}

// newConditionInput builds the variables a condition sees. Numbers are
// normalised so an integral answer is a CEL int: `extra_vars.count == 3`
// then holds whether the answer was decoded as 3 or 3.0.
func newConditionInput(s Subject) conditionInput {
	tags := s.Item.Tags
	if tags == nil {
		tags = []string{}
	}
	teams := s.Requester.Teams
	if teams == nil {
		teams = []string{}
	}
	item := conditionItem{
		ID:               s.Item.ID,
		Name:             s.Item.Name,
		Description:      s.Item.Description,
		Category:         s.Item.Category,
		Tags:             tags,
		Organization:     s.Item.Organization,
		RequiresApproval: s.Item.RequiresApproval,
		IsWorkflow:       s.Item.IsWorkflow,
	}
	if s.Item.ApproverTeam != nil {
		item.ApproverTeam = s.Item.ApproverTeam.Name
	}
	values := 0
	nodes := make(map[string]any, len(s.NodeSurveyData))
	for id, answers := range s.NodeSurveyData {
		nodes[id] = normalize(map[string]any(answers), &values)
	}
	return conditionInput{
		vars: map[string]any{
			"item":             item,
			"requester":        conditionRequester{Username: s.Requester.Username, Teams: teams},
			"extra_vars":       normalize(s.ExtraVars, &values),
			"node_survey_data": nodes,
			"justification":    s.Justification,
		},
		tooLarge: values > maxConditionValues,
	}
}

// normalize copies v with JSON numbers made CEL ints where integral, and
// counts its values.
func normalize(v any, values *int) any {
	*values++
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return map[string]any{}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalize(val, values)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = normalize(val, values)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		// Answers arrive as the requester wrote them; 6.0 is the int 6,
		// as a float64 6 is.
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f)
			}
			return f
		}
		return x.String()
	case int:
		return int64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		*values += len(x)
		return out
	}
	return v
}
