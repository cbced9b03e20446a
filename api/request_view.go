package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// Where a request's detail comes from.
const (
	sourceWorkflow   = "workflow"
	sourceProjection = "projection"
)

// requestSummary is a request as lists show it, from the projection.
func requestSummary(r store.Request) gin.H {
	url := fmt.Sprintf("/api/v2/service_requests/%d/", r.ID)
	var job any
	if r.Job != nil {
		job = gin.H{"type": r.Job.Type, "id": r.Job.ID, "status": r.Job.Status, "url": r.Job.URL}
	}
	return gin.H{
		"id": r.ID, "type": "service_request", "url": url,
		"related": gin.H{"approve": url + "approve/", "reject": url + "reject/", "comment": url + "comment/", "cancel": url + "cancel/"},
		"summary_fields": gin.H{
			"catalog_item": ref(r.CatalogItemID, r.CatalogItemName),
			"requester":    gin.H{"id": r.RequesterID, "username": r.RequesterUsername},
		},
		"organization": r.OrganizationID, "catalog_item": r.CatalogItemID, "requester": r.RequesterUsername,
		"justification": r.Justification, "status": r.Status, "current_stage": r.CurrentStage,
		"pending_approvers": nonNilStrings(r.PendingApprovers), "job": job, "failure_reason": r.FailureReason,
		"workflow_id": r.WorkflowID, "created": r.Created, "modified": r.Modified, "finished": r.Finished,
	}
}

// requestDetail is a request with its answers (passwords masked, as
// stored), stages, responses and comments: from the workflow's state when
// there is one, else from the projection, saying which.
func requestDetail(r store.Request, st *approval.Request) gin.H {
	out := requestSummary(r)
	out["extra_vars"] = rawOrEmpty(r.ExtraVars)
	out["node_survey_data"] = rawOrEmpty(r.NodeSurveyData)
	if st == nil {
		// The same shape as from the workflow; what only the workflow
		// knows is null or empty.
		out["source"] = sourceProjection
		out["stages"], out["comments"] = projectionStages(r)
		out["denial"] = rawOrNil(r.Denial)
		out["cancellation"] = nil
		out["refused_signals"] = []any{}
		out["plan"] = nil
		return out
	}
	out["source"] = sourceWorkflow
	out["status"] = st.Status
	out["current_stage"] = currentStage(st)
	out["pending_approvers"] = nonNilStrings(st.EligibleApprovers)
	out["failure_reason"] = st.FailureReason
	out["modified"], out["finished"] = st.Modified, st.Finished
	if st.Job != nil {
		out["job"] = gin.H{"type": st.Job.Type, "id": st.Job.ID, "status": st.Job.Status, "url": st.Job.URL, "explanation": st.Job.Explanation}
	}
	stages := make([]gin.H, len(st.Stages))
	for i, s := range st.Stages {
		responses := make([]gin.H, len(s.Responses))
		for j, resp := range s.Responses {
			responses[j] = gin.H{"user": resp.User, "decision": resp.Decision, "comment": resp.Comment, "at": resp.At,
				"channel": resp.Channel, "unverified": resp.Unverified}
		}
		stages[i] = stageView(i, s.Stage.Name, s.ApproverTeam, s.MinApprovers, s.DenialMessage, s.Timeout.Std(), s.ReminderInterval.Std(),
			string(s.Status), s.OpenedAt, s.Deadline, s.DecidedAt, s.Approvals, responses)
		stages[i]["next_reminder"] = s.NextReminder
		stages[i]["reminders_sent"] = s.RemindersSent
		stages[i]["unreachable"] = s.Unreachable
	}
	comments := make([]gin.H, len(st.Comments))
	for i, cm := range st.Comments {
		comments[i] = gin.H{"user": cm.User, "text": cm.Text, "stage": cm.Stage, "at": cm.At,
			"channel": cm.Channel, "unverified": cm.Unverified}
	}
	out["stages"], out["comments"] = stages, comments
	out["denial"] = st.Denial
	out["cancellation"] = st.Cancellation
	out["refused_signals"] = st.Refused
	out["plan"] = gin.H{"source": st.PlanSource, "policy": st.PlanPolicy, "notes": nonNilStrings(st.PlanNotes)}
	return out
}

func currentStage(st *approval.Request) any {
	if st.Current() == nil {
		return nil
	}
	return st.CurrentStage
}

func stageView(i int, name string, team *approval.Ref, minApprovers int, denial string, timeout, reminder time.Duration,
	status string, opened, deadline, decided *time.Time, approvals int, responses []gin.H) gin.H {
	var teamID any
	if team != nil {
		teamID = team.ID
	}
	return gin.H{
		"name": name, "order": i + 1, "approver_team": teamID, "summary_fields": gin.H{"approver_team": team},
		"min_approvers": minApprovers, "denial_message": denial,
		"timeout": approval.Duration(timeout), "reminder_interval": approval.Duration(reminder),
		"status": status, "opened_at": opened, "deadline": deadline, "decided_at": decided,
		"approvals": approvals, "responses": responses,
	}
}

// projectionStages rebuilds stages and comments from the projection's rows.
func projectionStages(r store.Request) ([]gin.H, []gin.H) {
	byStage := map[int][]gin.H{}
	approvals := map[int]int{}
	comments := []gin.H{}
	for _, resp := range r.Responses {
		if resp.Kind == "comment" {
			comments = append(comments, gin.H{"user": resp.Username, "text": resp.Text, "stage": resp.StagePosition, "at": resp.Created,
				"channel": resp.Channel, "unverified": resp.Unverified})
			continue
		}
		if resp.StagePosition == nil {
			continue
		}
		pos := *resp.StagePosition
		byStage[pos] = append(byStage[pos], gin.H{"user": resp.Username, "decision": resp.Kind, "comment": resp.Text, "at": resp.Created,
			"channel": resp.Channel, "unverified": resp.Unverified})
		if resp.Kind == "approve" {
			approvals[pos]++
		}
	}
	stages := make([]gin.H, len(r.Stages))
	for i, s := range r.Stages {
		var team *approval.Ref
		if s.ApproverTeamID != nil {
			team = &approval.Ref{ID: *s.ApproverTeamID, Name: s.ApproverTeamName}
		}
		responses := byStage[s.Position]
		if responses == nil {
			responses = []gin.H{}
		}
		stages[i] = stageView(i, s.Name, team, s.MinApprovers, s.DenialMessage, s.Timeout, s.ReminderInterval,
			s.Status, s.OpenedAt, s.Deadline, s.DecidedAt, approvals[s.Position], responses)
		stages[i]["unreachable"] = projectionUnreachable(r, s, approvals[s.Position])
	}
	return stages, comments
}

// projectionUnreachable judges the open stage s from what the projection
// keeps: its quorum, its approvals and who may still decide. The index
// does not know who was excluded nor since when, so the reason is shorter
// than the workflow's.
func projectionUnreachable(r store.Request, s store.StageState, approvals int) any {
	if r.CurrentStage == nil || *r.CurrentStage != s.Position || s.Status != string(approval.StagePending) {
		return nil
	}
	needed := s.MinApprovers - approvals
	short, ok := approval.Shortfall(needed, nonNilStrings(r.PendingApprovers))
	if !ok {
		return nil
	}
	return gin.H{"reason": short, "needed": needed, "remaining": nonNilStrings(r.PendingApprovers)}
}

func rawOrEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

func rawOrNil(raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
