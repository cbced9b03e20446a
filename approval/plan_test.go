package approval_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

var (
	sre      = &approval.Ref{ID: 1, Name: "sre"}
	security = &approval.Ref{ID: 2, Name: "security"}
)

func stage(name string, order int, team *approval.Ref, min int) approval.Stage {
	return approval.Stage{
		Name: name, Order: order, ApproverTeam: team, MinApprovers: min,
		Timeout: approval.Duration(72 * time.Hour), ReminderInterval: approval.Duration(24 * time.Hour),
	}
}

func provisionSubject(vars map[string]any) approval.Subject {
	return approval.Subject{
		Item: approval.Item{
			ID: 3, Name: "Provision environment", Category: "environments", Tags: []string{"dev"},
			Organization: "acme", IsWorkflow: true,
		},
		Requester:     approval.Requester{Username: "alice", Teams: []string{"developers"}},
		ExtraVars:     vars,
		Justification: "need a test env",
	}
}

func TestResolvePlan(t *testing.T) {
	long := approval.Policy{ID: 1, Name: "long-lived", Priority: 10, Enabled: true,
		Condition: "extra_vars.ttl_days > 5",
		Stages:    []approval.Stage{stage("SRE", 1, sre, 2), stage("Security", 2, security, 1)}}
	short := approval.Policy{ID: 2, Name: "default", Priority: 20, Enabled: true,
		Stages: []approval.Stage{stage("SRE", 1, sre, 2)}}
	catchAll := approval.Policy{ID: 3, Name: "catch-all", Priority: 30, Enabled: true,
		Stages: []approval.Stage{stage("Admins", 1, nil, 1)}}

	tests := []struct {
		name       string
		policies   []approval.Policy
		subject    approval.Subject
		wantSource approval.PlanSource
		wantPolicy string
		wantStages []string
		wantNote   bool
	}{
		{
			name:       "higher-priority condition false, next of three wins",
			policies:   []approval.Policy{catchAll, long, short},
			subject:    provisionSubject(map[string]any{"ttl_days": 3.0}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "default", wantStages: []string{"SRE"},
		},
		{
			name:       "higher-priority condition true wins",
			policies:   []approval.Policy{short, long, catchAll},
			subject:    provisionSubject(map[string]any{"ttl_days": 7.0}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "long-lived", wantStages: []string{"SRE", "Security"},
		},
		{
			name:       "int answer compares with int literal",
			policies:   []approval.Policy{long, short},
			subject:    provisionSubject(map[string]any{"ttl_days": 7}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "long-lived", wantStages: []string{"SRE", "Security"},
		},
		{
			name:       "json.Number answer compares too",
			policies:   []approval.Policy{long, short},
			subject:    provisionSubject(map[string]any{"ttl_days": json.Number("6")}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "long-lived", wantStages: []string{"SRE", "Security"},
		},
		{
			// Answers now reach conditions as the requester wrote them: an
			// integral 6.0 is still the int 6, as a float64 6 always was.
			name: "json.Number with a fraction, integral, is an int",
			policies: []approval.Policy{{ID: 8, Name: "arithmetic", Priority: 1, Enabled: true,
				Condition: `extra_vars.ttl_days + 1 == 7 && extra_vars.big == 9007199254740993`,
				Stages:    []approval.Stage{stage("Arithmetic", 1, security, 1)}}, short},
			subject:    provisionSubject(map[string]any{"ttl_days": json.Number("6.0"), "big": json.Number("9007199254740993")}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "arithmetic", wantStages: []string{"Arithmetic"},
		},
		{
			name: "OR condition matches on tags",
			policies: []approval.Policy{{ID: 9, Name: "prod", Priority: 1, Enabled: true,
				Condition: `item.category == "production" || "prod" in item.tags`,
				Stages:    []approval.Stage{stage("Prod", 1, security, 1)}}, short},
			subject: func() approval.Subject {
				s := provisionSubject(nil)
				s.Item.Tags = []string{"prod"}
				return s
			}(),
			wantSource: approval.PlanFromPolicy, wantPolicy: "prod", wantStages: []string{"Prod"},
		},
		{
			name: "OR condition matches on category",
			policies: []approval.Policy{{ID: 9, Name: "prod", Priority: 1, Enabled: true,
				Condition: `item.category == "production" || "prod" in item.tags`,
				Stages:    []approval.Stage{stage("Prod", 1, security, 1)}}, short},
			subject: func() approval.Subject {
				s := provisionSubject(nil)
				s.Item.Category = "production"
				return s
			}(),
			wantSource: approval.PlanFromPolicy, wantPolicy: "prod", wantStages: []string{"Prod"},
		},
		{
			name: "OR condition false on both sides falls through",
			policies: []approval.Policy{{ID: 9, Name: "prod", Priority: 1, Enabled: true,
				Condition: `item.category == "production" || "prod" in item.tags`,
				Stages:    []approval.Stage{stage("Prod", 1, security, 1)}}, short},
			subject:    provisionSubject(nil),
			wantSource: approval.PlanFromPolicy, wantPolicy: "default", wantStages: []string{"SRE"},
		},
		{
			name:       "missing answer fails closed: the policy applies with a note",
			policies:   []approval.Policy{long, short},
			subject:    provisionSubject(map[string]any{}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "long-lived", wantStages: []string{"SRE", "Security"}, wantNote: true,
		},
		{
			name: "has() guard lets authors skip optional answers",
			policies: []approval.Policy{{ID: 1, Name: "guarded", Priority: 1, Enabled: true,
				Condition: "has(extra_vars.ttl_days) && extra_vars.ttl_days > 5",
				Stages:    []approval.Stage{stage("Security", 1, security, 1)}}, short},
			subject:    provisionSubject(map[string]any{}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "default", wantStages: []string{"SRE"},
		},
		{
			name:       "disabled policy is ignored",
			policies:   []approval.Policy{func() approval.Policy { p := long; p.Enabled = false; return p }(), short},
			subject:    provisionSubject(map[string]any{"ttl_days": 9.0}),
			wantSource: approval.PlanFromPolicy, wantPolicy: "default", wantStages: []string{"SRE"},
		},
		{
			name: "priority tie goes to the lowest id",
			policies: []approval.Policy{
				{ID: 8, Name: "later", Priority: 5, Enabled: true, Stages: []approval.Stage{stage("B", 1, sre, 1)}},
				{ID: 4, Name: "earlier", Priority: 5, Enabled: true, Stages: []approval.Stage{stage("A", 1, sre, 1)}},
			},
			subject:    provisionSubject(nil),
			wantSource: approval.PlanFromPolicy, wantPolicy: "earlier", wantStages: []string{"A"},
		},
		{
			name: "conditions see requester teams, justification and node answers",
			policies: []approval.Policy{{ID: 1, Name: "ctx", Priority: 1, Enabled: true,
				Condition: `"developers" in requester.teams && requester.username == "alice" && justification.contains("test") && node_survey_data["create-database"].db_size == "large"`,
				Stages:    []approval.Stage{stage("DBA", 1, sre, 1)}}, short},
			subject: func() approval.Subject {
				s := provisionSubject(nil)
				s.NodeSurveyData = map[string]map[string]any{"create-database": {"db_size": "large"}}
				return s
			}(),
			wantSource: approval.PlanFromPolicy, wantPolicy: "ctx", wantStages: []string{"DBA"},
		},
		{
			name:     "no policy matches, item requires approval: one stage of its team",
			policies: []approval.Policy{long},
			subject: func() approval.Subject {
				s := provisionSubject(map[string]any{"ttl_days": 1})
				s.Item.RequiresApproval = true
				s.Item.ApproverTeam = sre
				return s
			}(),
			wantSource: approval.PlanFromItem, wantStages: []string{approval.FallbackStageName},
		},
		{
			name:       "no policy, no approval required: no stages",
			policies:   nil,
			subject:    provisionSubject(nil),
			wantSource: approval.PlanNone, wantStages: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := approval.ResolvePlan(tt.policies, tt.subject)
			assert.Equal(t, tt.wantSource, plan.Source)
			assert.Equal(t, tt.wantPolicy, plan.PolicyName)
			names := []string{}
			for _, s := range plan.Stages {
				names = append(names, s.Name)
			}
			assert.Equal(t, tt.wantStages, names)
			assert.Equal(t, len(tt.wantStages) > 0, plan.NeedsApproval())
			if tt.wantNote {
				require.Len(t, plan.Notes, 1)
				assert.Contains(t, plan.Notes[0], "could not be evaluated")
			} else {
				assert.Empty(t, plan.Notes)
			}
		})
	}
}

func TestResolvePlan_FailingConditionNeverWaivesApproval(t *testing.T) {
	waiver := approval.Policy{ID: 1, Name: "short-lived needs nothing", Priority: 1, Enabled: true,
		Condition: "extra_vars.ttl_days < 2", Stages: nil}
	strict := approval.Policy{ID: 2, Name: "strict", Priority: 2, Enabled: true,
		Condition: "extra_vars.ttl_days < 100", Stages: []approval.Stage{stage("SRE", 1, sre, 1)}}

	s := provisionSubject(map[string]any{})
	s.Item.RequiresApproval = true
	s.Item.ApproverTeam = sre

	plan := approval.ResolvePlan([]approval.Policy{waiver}, s)
	assert.Equal(t, approval.PlanFromItem, plan.Source, "the item's own approval applies")
	require.Len(t, plan.Stages, 1)
	require.Len(t, plan.Notes, 1)
	assert.Contains(t, plan.Notes[0], "it has no stages, so the plan that applies when it does not hold was kept")

	plan = approval.ResolvePlan([]approval.Policy{waiver, strict}, s)
	assert.Equal(t, "strict", plan.PolicyName, "the next policy fails closed")
	assert.Len(t, plan.Notes, 2)

	plan = approval.ResolvePlan([]approval.Policy{waiver}, provisionSubject(map[string]any{"ttl_days": 1}))
	assert.Equal(t, approval.PlanFromPolicy, plan.Source, "a condition that holds may waive approval")
	assert.Empty(t, plan.Stages)
}

func TestResolvePlan_FallbackStage(t *testing.T) {
	t.Run("approver team of the item", func(t *testing.T) {
		s := provisionSubject(nil)
		s.Item.RequiresApproval = true
		s.Item.ApproverTeam = sre
		plan := approval.ResolvePlan(nil, s)
		require.Len(t, plan.Stages, 1)
		st := plan.Stages[0]
		assert.Equal(t, sre, st.ApproverTeam)
		assert.Equal(t, 1, st.MinApprovers)
		assert.Equal(t, approval.DefaultStageTimeout, st.Timeout.Std())
		assert.Equal(t, approval.DefaultReminderInterval, st.ReminderInterval.Std())
	})
	t.Run("org admins when the item has no team", func(t *testing.T) {
		s := provisionSubject(nil)
		s.Item.RequiresApproval = true
		plan := approval.ResolvePlan(nil, s)
		require.Len(t, plan.Stages, 1)
		assert.Nil(t, plan.Stages[0].ApproverTeam)
	})
}

func TestResolvePlan_NormalizesStages(t *testing.T) {
	p := approval.Policy{ID: 1, Name: "p", Enabled: true, Stages: []approval.Stage{
		{Name: "second", Order: 2, ApproverTeam: security},
		{Name: "first", Order: 1, ApproverTeam: sre, MinApprovers: 2, ReminderInterval: approval.Duration(-time.Hour)},
	}}
	plan := approval.ResolvePlan([]approval.Policy{p}, provisionSubject(nil))
	require.Len(t, plan.Stages, 2)
	assert.Equal(t, "first", plan.Stages[0].Name)
	assert.Equal(t, 2, plan.Stages[0].MinApprovers)
	assert.Equal(t, approval.Duration(0), plan.Stages[0].ReminderInterval)
	assert.Equal(t, 1, plan.Stages[1].MinApprovers, "min approvers defaults to 1")
	assert.Equal(t, approval.DefaultStageTimeout, plan.Stages[1].Timeout.Std(), "timeout defaults to 72h")
	assert.Equal(t, int64(1), plan.PolicyID)
}

// TestResolvePlan_BrokenConditionFailsClosed: a saved condition that does
// not compile (saved before today's checks, say) fails closed like one that
// fails on the request, rather than refusing every submission of the
// organization; its note names the policy, not the condition.
func TestResolvePlan_BrokenConditionFailsClosed(t *testing.T) {
	waiver := approval.Policy{ID: 2, Name: "nothing needed", Priority: 2, Enabled: true, Condition: "true"}
	for _, cond := range []string{"extra_vars.ttl_days >", `extra_vars.ttl_days + 1`, `"yes"`, `item.nmae == "internal-host"`, nestedMaps(170)} {
		t.Run(cond[:min(len(cond), 40)], func(t *testing.T) {
			p := approval.Policy{ID: 1, Name: "broken", Priority: 1, Enabled: true, Condition: cond, Stages: []approval.Stage{stage("S", 1, sre, 1)}}
			plan := approval.ResolvePlan([]approval.Policy{p, waiver}, provisionSubject(map[string]any{"ttl_days": 1}))
			assert.Equal(t, []plannedStage{{"S", "sre", 1, 72 * time.Hour, 24 * time.Hour}}, planned(plan))
			assert.Equal(t, "broken", plan.PolicyName)
			require.Len(t, plan.Notes, 1)
			assert.Contains(t, plan.Notes[0], `policy "broken"`)
			assert.Contains(t, plan.Notes[0], "it does not compile")
			assert.NotContains(t, plan.Notes[0], "internal-host")
		})
	}
}

func TestCheckCondition(t *testing.T) {
	tests := []struct {
		expr    string
		wantErr string
	}{
		{expr: ""},
		{expr: "   "},
		{expr: "extra_vars.ttl_days > 5"},
		{expr: `item.category == "production" || "prod" in item.tags`},
		{expr: "has(extra_vars.ttl_days) && extra_vars.ttl_days > 5"},
		{expr: `requester.username == "alice"`},
		{expr: `size(justification) > 10`},
		{expr: "extra_vars.ttl_days >", wantErr: "does not compile"},
		{expr: "unknown_var == 1", wantErr: "does not compile"},
		{expr: "extra_vars.ttl_days", wantErr: "must return a bool"},
		{expr: `"text"`, wantErr: "must return a bool"},
		{expr: "1 + 2", wantErr: "must return a bool"},
		{expr: "justification", wantErr: "must return a bool"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			err := approval.CheckCondition(tt.expr)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			var ce *approval.ConditionError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestDuration_JSON(t *testing.T) {
	var s approval.Stage
	require.NoError(t, json.Unmarshal([]byte(`{"name":"x","timeout":"30m","reminder_interval":"0s"}`), &s))
	assert.Equal(t, 30*time.Minute, s.Timeout.Std())
	assert.Equal(t, time.Duration(0), s.ReminderInterval.Std())
	out, err := json.Marshal(s)
	require.NoError(t, err)
	assert.Contains(t, string(out), `"timeout":"30m0s"`)

	assert.Error(t, json.Unmarshal([]byte(`{"timeout":3600}`), &s), "numbers are ambiguous")
	assert.Error(t, json.Unmarshal([]byte(`{"timeout":"soon"}`), &s))
}

func TestJobOutcome(t *testing.T) {
	tests := []struct {
		awx    string
		want   approval.Status
		wantOK bool
	}{
		{"successful", approval.StatusSuccessful, true},
		{"failed", approval.StatusFailed, true},
		{"error", approval.StatusFailed, true},
		{"canceled", approval.StatusCanceled, true},
		{"pending", approval.StatusRunning, false},
		{"waiting", approval.StatusRunning, false},
		{"running", approval.StatusRunning, false},
		{"new", approval.StatusRunning, false},
	}
	for _, tt := range tests {
		got, ok := approval.JobOutcome(tt.awx)
		assert.Equal(t, tt.want, got, tt.awx)
		assert.Equal(t, tt.wantOK, ok, tt.awx)
	}
}

func TestStatus_Terminal(t *testing.T) {
	terminal := map[approval.Status]bool{
		approval.StatusRejected: true, approval.StatusExpired: true, approval.StatusSuccessful: true,
		approval.StatusFailed: true, approval.StatusCanceled: true, approval.StatusChangesRequested: true,
	}
	for _, s := range approval.Statuses {
		assert.Equal(t, terminal[s], s.Terminal(), s)
		assert.True(t, s.Valid())
	}
	assert.False(t, approval.Status("bogus").Valid())
}
