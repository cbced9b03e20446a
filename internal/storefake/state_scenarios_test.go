package storefake_test

import (
	"context"
	"encoding/json"
	"time"

	"github.com/countersign/countersign/store"
)

var stateScenarios = []scenario{
	{"request states", func(ctx context.Context, s Store, r *rec) {
		acme := got[store.Organization](r, "create acme")(s.CreateOrganization(ctx, "acme", ""))
		u := people(ctx, s, r, "root", "erin", "alice", "bob", "carol")
		sre := got[store.Team](r, "create sre")(s.CreateTeam(ctx, acme.ID, "sre", ""))
		r.err("add bob to sre", s.AddTeamMember(ctx, sre.ID, u["bob"].ID))
		r.err("add erin as admin", s.AddOrgAdmin(ctx, acme.ID, u["erin"].ID))
		item := got[store.CatalogItem](r, "create item")(s.CreateCatalogItem(ctx, store.NewCatalogItem{
			OrganizationID: acme.ID, Name: "Restart", JobTemplateID: ptr(int64(7)),
		}))
		submit := func(label string) store.Request {
			return got[store.Request](r, label)(s.CreateRequest(ctx, store.NewRequest{
				OrganizationID: acme.ID, CatalogItemID: item.ID, CatalogItemName: item.Name,
				RequesterID: u["alice"].ID, RequesterUsername: "alice",
				Stages: []store.NewStage{
					{Name: "sre", ApproverTeamID: &sre.ID, ApproverTeamName: "sre", MinApprovers: 1, Timeout: time.Hour},
					{Name: "admins", MinApprovers: 1, Timeout: time.Hour},
				},
			}))
		}
		first, second, third := submit("submit first"), submit("submit second"), submit("submit third")
		opened := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
		deadline := opened.Add(time.Hour)
		stages := func(first, second string, teamID *int64) []store.StageState {
			return []store.StageState{
				{Position: 0, Name: "sre", ApproverTeamID: teamID, ApproverTeamName: "sre", MinApprovers: 1,
					Timeout: time.Hour + 500*time.Millisecond, Status: first, OpenedAt: &opened, Deadline: &deadline},
				{Position: 1, Name: "admins", MinApprovers: 1, Timeout: time.Hour, Status: second},
			}
		}
		state := store.RequestState{
			ID: first.ID, Seq: 1, Status: "pending_approval", CurrentStage: ptr(0),
			PendingApprovers: []string{"bob", "root"}, Stages: stages("pending", "waiting", &sre.ID),
			Participants: []string{"root", "bob", "bob"},
		}
		got[bool](r, "record the open stage")(s.RecordRequestState(ctx, state))
		got[bool](r, "record it again")(s.RecordRequestState(ctx, state))
		got[store.Request](r, "get first")(s.GetRequest(ctx, first.ID))
		page[store.Request](r, "bob's inbox")(s.ListPendingForPage(ctx, "bob", store.ListOptions{}))
		page[store.Request](r, "erin's inbox")(s.ListPendingForPage(ctx, "erin", store.ListOptions{}))
		got[[]int64](r, "pending for bob")(s.PendingRequestsForUser(ctx, u["bob"].ID))
		got[[]int64](r, "pending for erin")(s.PendingRequestsForUser(ctx, u["erin"].ID))
		got[[]int64](r, "pending using sre")(s.PendingRequestsUsingTeam(ctx, sre.ID))
		got[[]int64](r, "pending using admins")(s.PendingRequestsUsingOrgAdmins(ctx, acme.ID))
		page[store.Request](r, "visible to bob")(s.ListRequests(ctx, store.RequestFilter{
			Visibility: &store.RequestVisibility{UserID: u["bob"].ID, Username: "bob"},
		}, store.ListOptions{}))

		decided := opened.Add(time.Minute + 400)
		state = store.RequestState{
			ID: first.ID, Seq: 2, Status: "pending_approval", CurrentStage: ptr(1),
			PendingApprovers: []string{"erin", "root"}, Stages: stages("approved", "pending", &sre.ID),
			Responses: []store.Response{
				{StagePosition: ptr(0), Username: "bob", Kind: "comment", Text: "looking", Created: decided, Channel: "portal"},
				{Username: "carol", Kind: "comment", Text: "first", Created: opened},
				{StagePosition: ptr(0), Username: "bob", Kind: "approve", Created: decided, Channel: "cli", Unverified: true},
			},
			Participants: []string{"erin"},
			Modified:     decided,
		}
		got[bool](r, "record the second stage")(s.RecordRequestState(ctx, state))
		got[store.Request](r, "get first")(s.GetRequest(ctx, first.ID))
		got[[]int64](r, "pending using admins")(s.PendingRequestsUsingOrgAdmins(ctx, acme.ID))
		page[store.Request](r, "undecided by bob")(s.ListRequests(ctx, store.RequestFilter{
			Undecided: &store.UserRef{ID: u["bob"].ID, Username: "bob"},
		}, store.ListOptions{}))
		r.err("delete bob, who decided", s.DeleteUser(ctx, u["bob"].ID))
		r.err("delete carol, who commented", s.DeleteUser(ctx, u["carol"].ID))
		stale := state
		stale.Seq, stale.Status, stale.Participants = 1, "rejected", []string{"dave"}
		got[bool](r, "stale snapshot, new participant")(s.RecordRequestState(ctx, stale))

		for _, bad := range []struct {
			label  string
			change func(*store.RequestState)
		}{
			{"unknown status", func(st *store.RequestState) { st.Status = "done" }},
			{"negative stage", func(st *store.RequestState) { st.CurrentStage = ptr(-1) }},
			{"bad denial", func(st *store.RequestState) { st.Denial = json.RawMessage(`{`) }},
			{"unknown job type", func(st *store.RequestState) { st.Job = &store.JobRef{Type: "project_update", ID: 1} }},
			{"unknown stage status", func(st *store.RequestState) { st.Stages[1].Status = "open" }},
			{"stage without approvers", func(st *store.RequestState) { st.Stages[1].MinApprovers = 0 }},
			{"two stages at one position", func(st *store.RequestState) { st.Stages[1].Position = 0 }},
			{"unknown response kind", func(st *store.RequestState) { st.Responses[0].Kind = "veto" }},
			{"missing request", func(st *store.RequestState) { st.ID = 999 }},
		} {
			st := state
			st.Seq, st.Participants = 3, []string{"mallory"}
			st.Stages = stages("approved", "approved", &sre.ID)
			st.Responses = append([]store.Response(nil), state.Responses...)
			bad.change(&st)
			got[bool](r, "record: "+bad.label)(s.RecordRequestState(ctx, st))
		}
		got[store.Request](r, "failed records changed nothing")(s.GetRequest(ctx, first.ID))

		r.err("claim a job", s.ClaimJob(ctx, first.ID, store.JobTypeJob, 41))
		r.err("claim it again", s.ClaimJob(ctx, first.ID, store.JobTypeJob, 41))
		r.err("claim another", s.ClaimJob(ctx, first.ID, store.JobTypeJob, 42))
		r.err("claim it for the second", s.ClaimJob(ctx, second.ID, store.JobTypeJob, 41))
		r.err("claim a workflow job of the same id", s.ClaimJob(ctx, second.ID, store.JobTypeWorkflowJob, 41))
		r.err("claim an unknown type", s.ClaimJob(ctx, first.ID, "project_update", 41))
		r.err("claim for missing", s.ClaimJob(ctx, 999, store.JobTypeJob, 43))
		r.err("delete first, which launched", s.DeleteRequest(ctx, first.ID))

		finished := decided.Add(time.Hour + 999999)
		done := store.RequestState{
			ID: first.ID, Seq: 4, Status: "successful", PendingApprovers: nil,
			Stages: stages("approved", "approved", &sre.ID), Responses: state.Responses,
			Job:      &store.JobRef{Type: store.JobTypeJob, ID: 41, Status: "successful", URL: "https://awx/#/jobs/41"},
			Finished: &finished, Denial: json.RawMessage(`null`),
		}
		got[bool](r, "record a different job")(s.RecordRequestState(ctx, func() store.RequestState {
			st := done
			st.Job = &store.JobRef{Type: store.JobTypeJob, ID: 42}
			return st
		}()))
		got[bool](r, "record another request's job")(s.RecordRequestState(ctx, store.RequestState{
			ID: second.ID, Seq: 1, Status: "running", Job: &store.JobRef{Type: store.JobTypeWorkflowJob, ID: 41},
		}))
		got[bool](r, "record a job another request owns")(s.RecordRequestState(ctx, store.RequestState{
			ID: third.ID, Seq: 1, Status: "running", Job: &store.JobRef{Type: store.JobTypeJob, ID: 41},
		}))
		got[store.Request](r, "third unchanged")(s.GetRequest(ctx, third.ID))
		got[bool](r, "record the end")(s.RecordRequestState(ctx, done))
		got[bool](r, "record a later state without the job")(s.RecordRequestState(ctx, store.RequestState{
			ID: first.ID, Seq: 5, Status: "successful", Finished: &finished,
			Stages: done.Stages, Responses: done.Responses,
		}))
		req := got[store.Request](r, "get the finished request")(s.GetRequest(ctx, first.ID))
		r.add("instants", instants(req.Finished, req.Stages[0].OpenedAt, req.Stages[0].Deadline,
			&req.Responses[0].Created, &req.Responses[2].Created), nil)
		got[store.Request](r, "reject the second")(s.GetRequest(ctx, second.ID))
		got[bool](r, "reject")(s.RecordRequestState(ctx, store.RequestState{
			ID: second.ID, Seq: 2, Status: "rejected", Finished: &finished,
			Denial: json.RawMessage(`{"message":"no","by":"erin"}`), FailureReason: "rejected by erin",
			Stages: stages("rejected", "skipped", &sre.ID),
		}))
		page[store.Request](r, "list by -finished")(s.ListRequests(ctx, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"-finished"}}))
		page[store.Request](r, "list by status")(s.ListRequests(ctx, store.RequestFilter{}, store.ListOptions{OrderBy: []string{"status"}}))
		got[[]int64](r, "nothing pending")(s.PendingRequests(ctx))
		got[store.CatalogItem](r, "free sre")(s.UpdateCatalogItem(ctx, item.ID, store.CatalogItemUpdate{ClearApproverTeam: true}))
		r.err("delete sre", s.DeleteTeam(ctx, sre.ID))
		got[bool](r, "record a stage of the deleted team")(s.RecordRequestState(ctx, store.RequestState{
			ID: second.ID, Seq: 3, Status: "rejected", Stages: stages("rejected", "skipped", &sre.ID),
		}))
		got[store.Request](r, "the stage keeps the name")(s.GetRequest(ctx, second.ID))
		r.err("delete second", s.DeleteRequest(ctx, second.ID))
	}},
}
