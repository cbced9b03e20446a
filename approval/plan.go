package approval

import (
	"sort"
	"strings"
	"time"
)

// Defaults applied to stages whose values were left unset (SPEC 3.3).
const (
	DefaultStageTimeout     = 72 * time.Hour
	DefaultReminderInterval = 24 * time.Hour
	// FallbackStageName names the single stage of an item that requires
	// approval but matches no policy.
	FallbackStageName = "Approval"
)

// Ref names another object by id and name, frozen at submission so the
// request still reads correctly after the object is renamed or deleted.
type Ref struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Stage is one approval step. ApproverTeam nil means the organization's
// admins approve. Timeout is how long the stage may wait once open;
// ReminderInterval 0 means no reminders.
type Stage struct {
	Name             string   `json:"name"`
	Order            int      `json:"order"`
	ApproverTeam     *Ref     `json:"approver_team"`
	MinApprovers     int      `json:"min_approvers"`
	DenialMessage    string   `json:"denial_message"`
	Timeout          Duration `json:"timeout"`
	ReminderInterval Duration `json:"reminder_interval"`
	// RequireRecentLogin, when set, is how recent a decider's interactive
	// sign-in must be for their approval or rejection of this stage to
	// count (step-up for sensitive stages); 0: any.
	RequireRecentLogin Duration `json:"require_recent_login,omitempty"`
	// MaxExtension is how much the stage's deadline may be extended in
	// all (see Request.Extend); 0: no extension.
	MaxExtension Duration `json:"max_extension,omitempty"`
	// WarnBefore, when set, is how long before the deadline the requester
	// and the approvers who have not decided are warned that it nears;
	// 0: no warning. Below Timeout.
	WarnBefore Duration `json:"warn_before,omitempty"`
	// Escalations are the steps that widen who may decide the stage when
	// it waits long, in increasing order of After.
	Escalations []Escalation `json:"escalations,omitempty"`
}

// Escalation is a step of a stage: After that long since the stage
// opened without enough approvals, the members of ApproverTeam may decide
// it too.
type Escalation struct {
	After        Duration `json:"after"`
	ApproverTeam Ref      `json:"approver_team"`
}

// Policy says which requests need which approvals (SPEC 3.3). A lower
// Priority wins; ties go to the lower ID. An empty Condition always matches.
// OrganizationID keys the cache of compiled conditions.
type Policy struct {
	ID             int64   `json:"id"`
	OrganizationID int64   `json:"organization_id"`
	Name           string  `json:"name"`
	Priority       int     `json:"priority"`
	Condition      string  `json:"condition"`
	Enabled        bool    `json:"enabled"`
	Stages         []Stage `json:"stages"`
}

// Item is what plan resolution and policy conditions know of a catalog item.
type Item struct {
	ID               int64    `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	Category         string   `json:"category"`
	Tags             []string `json:"tags"`
	Organization     string   `json:"organization"`
	RequiresApproval bool     `json:"requires_approval"`
	ApproverTeam     *Ref     `json:"approver_team"`
	IsWorkflow       bool     `json:"is_workflow"`
}

// Requester is what policy conditions know of the person submitting.
type Requester struct {
	Username string   `json:"username"`
	Teams    []string `json:"teams"`
}

// Subject is the request a plan is resolved for: what a policy condition
// sees as `item`, `requester`, `extra_vars`, `node_survey_data` and
// `justification`.
type Subject struct {
	Item           Item
	Requester      Requester
	ExtraVars      map[string]any
	NodeSurveyData map[string]map[string]any
	Justification  string
}

// PlanSource says where a plan's stages came from.
type PlanSource string

// Plan sources, in the order SPEC 3.3 tries them.
const (
	PlanFromPolicy PlanSource = "policy"
	PlanFromItem   PlanSource = "item"
	PlanNone       PlanSource = "none"
)

// Enum lists every plan source, for documents of the API.
func (PlanSource) Enum() []any {
	return []any{string(PlanFromPolicy), string(PlanFromItem), string(PlanNone)}
}

// Plan is the approval plan of one request, frozen at submission. Notes
// explain decisions a reader would otherwise question, such as a policy
// applied because its condition failed to evaluate.
type Plan struct {
	Source     PlanSource `json:"source"`
	PolicyID   int64      `json:"policy_id,omitempty"`
	PolicyName string     `json:"policy_name,omitempty"`
	Stages     []Stage    `json:"stages"`
	Notes      []string   `json:"notes,omitempty"`
}

// NeedsApproval reports whether the plan has at least one stage.
func (p Plan) NeedsApproval() bool { return len(p.Stages) > 0 }

// ResolvePlan picks the approval plan of a request (SPEC 3.3): among the
// enabled policies whose condition holds, the lowest priority wins (ties:
// lowest id); otherwise an item that requires approval gets one stage
// approved by its approver team (or the organization's admins); otherwise
// the plan has no stages.
//
// A condition that fails while evaluating this subject (a missing answer,
// a wrong type, the cost limit) fails closed without ever lowering the bar:
// the plan is the failing policy's stages combined with the plan resolved
// as if the condition did not hold (see combine), and a note names the
// policy and the kind of failure, never a value. So does a condition that
// does not compile (CheckCondition refuses it when saved, but it may have
// been saved under older rules): refusing every request of the
// organization instead would stop its catalog until an admin fixed it.
//
// policies should be all of one organization's policies: the compiled
// conditions of that organization's other policies are dropped from the
// cache.
func ResolvePlan(policies []Policy, subj Subject) Plan {
	defer programs.retain(policies)
	candidates := make([]Policy, 0, len(policies))
	for _, p := range policies {
		if p.Enabled {
			candidates = append(candidates, p)
		}
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		if candidates[i].Priority != candidates[j].Priority {
			return candidates[i].Priority < candidates[j].Priority
		}
		return candidates[i].ID < candidates[j].ID
	})

	var input *conditionInput
	var failed []failure
	for _, p := range candidates {
		if strings.TrimSpace(p.Condition) == "" {
			return combine(failed, policyPlan(p))
		}
		cond, err := programs.get(p)
		if err != nil {
			failed = append(failed, failure{policy: p, kind: failBroken})
			continue
		}
		if input == nil {
			in := newConditionInput(subj)
			input = &in
		}
		if input.tooLarge {
			failed = append(failed, failure{policy: p, kind: failTooLarge})
			continue
		}
		match, evalErr := cond.eval(input.vars)
		if evalErr != nil {
			failed = append(failed, failure{policy: p, kind: failureKind(evalErr)})
			continue
		}
		if match {
			return combine(failed, policyPlan(p))
		}
	}

	if subj.Item.RequiresApproval {
		return combine(failed, Plan{
			Source: PlanFromItem,
			Stages: NormalizeStages([]Stage{{
				Name:             FallbackStageName,
				Order:            1,
				ApproverTeam:     subj.Item.ApproverTeam,
				MinApprovers:     1,
				Timeout:          Duration(DefaultStageTimeout),
				ReminderInterval: Duration(DefaultReminderInterval),
			}}),
		})
	}
	return combine(failed, Plan{Source: PlanNone, Stages: []Stage{}})
}

func policyPlan(p Policy) Plan {
	return Plan{
		Source:     PlanFromPolicy,
		PolicyID:   p.ID,
		PolicyName: p.Name,
		Stages:     NormalizeStages(p.Stages),
	}
}

// NormalizeStages returns a copy of stages sorted by Order with unset values
// replaced by their defaults: at least one approver and a 72h timeout. A
// zero ReminderInterval is kept, since it means "no reminders".
func NormalizeStages(stages []Stage) []Stage {
	out := make([]Stage, len(stages))
	copy(out, stages)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	for i := range out {
		if out[i].MinApprovers < 1 {
			out[i].MinApprovers = 1
		}
		if out[i].Timeout <= 0 {
			out[i].Timeout = Duration(DefaultStageTimeout)
		}
		if out[i].ReminderInterval < 0 {
			out[i].ReminderInterval = 0
		}
	}
	return out
}

func quote(s string) string { return "\"" + s + "\"" }
