package fasttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/activities"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// pendingRequest files a request by alice for e.item, its sre stage open,
// as the workflow would have recorded it; it returns the row and the
// workflow's state.
func (e *env) pendingRequest() (store.Request, *approval.Request) {
	e.t.Helper()
	ctx := context.Background()
	stage := approval.Stage{Name: "sre", ApproverTeam: &approval.Ref{ID: e.sre.ID, Name: e.sre.Name}, MinApprovers: 1,
		Timeout: approval.Duration(24 * time.Hour)}
	row, err := e.store.CreateRequest(ctx, store.NewRequest{OrganizationID: e.acme.ID, CatalogItemID: e.item.ID,
		CatalogItemName: e.item.Name, RequesterID: e.users[requester].ID, RequesterUsername: requester,
		Justification: "the api is stuck", ExtraVars: json.RawMessage(`{"service_name":"api"}`),
		Stages: []store.NewStage{{Name: stage.Name, ApproverTeamID: &e.sre.ID, ApproverTeamName: e.sre.Name,
			MinApprovers: 1, Timeout: stage.Timeout.Std()}}})
	require.NoError(e.t, err)
	live := approval.NewRequest(row.ID, approval.Ref{ID: e.acme.ID, Name: e.acme.Name}, approval.Ref{ID: e.item.ID, Name: e.item.Name},
		requester, row.Justification, approval.Plan{Source: approval.PlanFromItem, Stages: []approval.Stage{stage}}, e.now)
	roster, err := e.store.Roster(ctx, e.acme.ID, &e.sre.ID)
	require.NoError(e.t, err)
	live.OpenStage(0, approval.Roster{TeamMembers: roster.TeamMembers, OrgAdmins: roster.OrgAdmins, Superusers: roster.Superusers}, e.now)
	return e.record(live), live
}

// act applies a decision to the workflow's state and records it, as the
// workflow and its projection would.
func (e *env) act(live *approval.Request, action approval.Action, user, text string) store.Request {
	e.t.Helper()
	_, err := live.Apply(approval.Act{Action: action, User: user, Text: text, Via: approval.Via{Channel: "api"}}, e.now)
	require.NoError(e.t, err)
	return e.record(live)
}

// record writes the workflow's state into the projection, as its next
// snapshot, with its participants as the workflow's publication names
// them: the open stage's approvers and whoever decided.
func (e *env) record(live *approval.Request) store.Request {
	e.t.Helper()
	ctx := context.Background()
	live.Seq++
	st := activities.Projection(*live, live.Seq)
	st.Participants = slices.Clone(live.EligibleApprovers)
	for _, stage := range live.Stages {
		for _, resp := range stage.Responses {
			st.Participants = append(st.Participants, resp.User)
		}
	}
	_, err := e.store.RecordRequestState(ctx, st)
	require.NoError(e.t, err)
	row, err := e.store.GetRequest(ctx, live.ID)
	require.NoError(e.t, err)
	return row
}

// answersState makes the request's workflow answer the state query with
// live, as it is when the query is made.
func (e *env) answersState(live *approval.Request) {
	e.temporal.On("QueryWorkflow", mock.Anything, workflows.WorkflowID(live.ID), "", workflows.StateQuery).
		Return(func(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
			return stateValue(e, *live), nil
		}).Maybe()
}

// queryFails makes the request's state query fail with err.
func (e *env) queryFails(id int64, err error) {
	e.temporal.On("QueryWorkflow", mock.Anything, workflows.WorkflowID(id), "", workflows.StateQuery).Return(nil, err).Maybe()
}

// stateValue is a query's answer holding st, decoded as a payload would
// be (through JSON).
func stateValue(e *env, st approval.Request) *mocks.Value {
	raw, err := json.Marshal(st)
	require.NoError(e.t, err)
	v := mocks.NewEncodedValue(e.t)
	v.On("Get", mock.Anything).Return(func(out any) error { return json.Unmarshal(raw, out) }).Maybe()
	v.On("HasValue").Return(true).Maybe()
	return v
}

// updateAnswers makes the next update action on request id answer with
// outcome, as the handle's Get does: the new state, or the error the
// workflow (or Temporal) sent.
func (e *env) updateAnswers(id int64, action approval.Action, outcome error, st *approval.Request) {
	h := mocks.NewWorkflowUpdateHandle(e.t)
	h.On("Get", mock.Anything, mock.Anything).Return(func(_ context.Context, out any) error {
		if outcome != nil {
			return outcome
		}
		raw, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, out)
	}).Once()
	e.temporal.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool {
		return o.WorkflowID == workflows.WorkflowID(id) && o.UpdateName == string(action) && o.WaitForStage == client.WorkflowUpdateStageCompleted
	})).Return(h, nil).Once()
}

// refusal is a rule's refusal as the client sees it when the workflow
// rejects an update: the application error the workflow raises, through
// Temporal's failure conversion.
func refusal(code approval.Code, format string, args ...any) error {
	ref := approval.Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
	err := temporal.NewNonRetryableApplicationError(ref.Message, string(ref.Code), nil, ref)
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

func requestPath(id int64) string { return fmt.Sprintf("/api/v2/service_requests/%d/", id) }

// refusalWithoutCode is an update failing with an application error that
// carries no refusal, as a workflow bug would raise.
func refusalWithoutCode(msg string) error {
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(temporal.NewApplicationError(msg, "UpdateFailed")))
}

// clone is a deep copy of st, as a query's answer is.
func (e *env) clone(st *approval.Request) *approval.Request {
	e.t.Helper()
	raw, err := json.Marshal(st)
	require.NoError(e.t, err)
	var out approval.Request
	require.NoError(e.t, json.Unmarshal(raw, &out))
	return &out
}
