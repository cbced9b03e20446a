package requests_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

// From the projection: who may act on a pending request of organization 1
// whose stage waits for bob and carol, submitted by alice.
func TestCapabilitiesOf_Projection(t *testing.T) {
	stage := 0
	pending := store.Request{ID: 7, OrganizationID: 1, RequesterID: 10, RequesterUsername: "alice", Status: "pending_approval",
		CurrentStage: &stage, PendingApprovers: []string{"bob", "carol"}}
	rejected := pending
	rejected.Status, rejected.CurrentStage, rejected.PendingApprovers = "rejected", nil, nil
	rejected.Participants = []string{"bob"}
	launched := pending
	launched.Status, launched.Job = "successful", &store.JobRef{Type: "job", ID: 3}
	changes := rejected
	changes.Status = "changes_requested"
	resubmitted := changes
	resubmitted.Children = []int64{8}
	now := time.Now()
	later, earlier := now.Add(time.Hour), now.Add(-time.Minute)
	extendable := pending
	extendable.ExtendableUntil = &later
	pastDeadline := pending
	pastDeadline.ExtendableUntil = &earlier

	alice := access.Principal{UserID: 10, Username: "alice", MemberOf: []int64{1}}
	bob := access.Principal{UserID: 11, Username: "bob", MemberOf: []int64{1}, Teams: []int64{5}}
	erin := access.Principal{UserID: 12, Username: "erin", MemberOf: []int64{1}, AdminOf: []int64{1}}
	admin := access.Principal{UserID: 1, Username: "admin", IsSuperuser: true}
	dave := access.Principal{UserID: 13, Username: "dave", MemberOf: []int64{1}}

	for _, tc := range []struct {
		name string
		p    access.Principal
		r    store.Request
		want requests.Capabilities
	}{
		{"requester, pending", alice, pending, requests.Capabilities{Comment: true, Cancel: true, Delete: true}},
		{"approver, pending", bob, pending, requests.Capabilities{Approve: true, Reject: true, RequestChanges: true, Comment: true}},
		{"org admin, pending", erin, pending, requests.Capabilities{Comment: true, Cancel: true, Delete: true, Escalate: true}},
		{"superuser, pending", admin, pending, requests.Capabilities{Approve: true, Reject: true, RequestChanges: true, Comment: true,
			Cancel: true, Delete: true, Escalate: true}},
		{"unrelated member, pending", dave, pending, requests.Capabilities{}},
		{"requester, rejected", alice, rejected, requests.Capabilities{Delete: true, RequestAgain: true}},
		{"asked approver, rejected", bob, rejected, requests.Capabilities{}},
		{"superuser, launched", admin, launched, requests.Capabilities{}},
		{"requester, launched", alice, launched, requests.Capabilities{RequestAgain: true}},
		{"requester, changes requested", alice, changes, requests.Capabilities{Delete: true, Resubmit: true, RequestAgain: true}},
		{"requester, changes requested and resubmitted", alice, resubmitted, requests.Capabilities{Delete: true, RequestAgain: true}},
		{"asked approver, changes requested", bob, changes, requests.Capabilities{}},
		{"superuser, changes requested", admin, changes, requests.Capabilities{Delete: true}},
		{"approver, extendable", bob, extendable, requests.Capabilities{Approve: true, Reject: true, RequestChanges: true, Comment: true,
			Extend: true}},
		{"org admin, extendable", erin, extendable, requests.Capabilities{Comment: true, Cancel: true, Delete: true, Escalate: true,
			Extend: true}},
		{"superuser, extendable", admin, extendable, requests.Capabilities{Approve: true, Reject: true, RequestChanges: true, Comment: true,
			Cancel: true, Delete: true, Escalate: true, Extend: true}},
		{"requester, extendable", alice, extendable, requests.Capabilities{Comment: true, Cancel: true, Delete: true}},
		{"unrelated member, extendable", dave, extendable, requests.Capabilities{}},
		{"approver, past the deadline", bob, pastDeadline, requests.Capabilities{Approve: true, Reject: true, RequestChanges: true,
			Comment: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, requests.CapabilitiesOf(tc.p, tc.r, nil, now))
		})
	}
}

func TestPrincipalOf(t *testing.T) {
	u := store.User{ID: 7, Username: "bob", IsSuperuser: false}
	roles := store.Roles{Teams: []store.TeamRef{{ID: 3, Name: "sre", OrganizationID: 1}, {ID: 5, Name: "ops", OrganizationID: 2}},
		AdminOf: []int64{2}, MemberOf: []int64{1, 2}}
	p := requests.PrincipalOf(u, roles)
	assert.Equal(t, access.Principal{UserID: 7, Username: "bob", Teams: []int64{3, 5}, AdminOf: []int64{2}, MemberOf: []int64{1, 2}}, p)
	assert.True(t, p.Admin(2))
	assert.False(t, p.Admin(1))
}
