package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
	"github.com/countersign/countersign/workflows"
)

// keyRing holds users' decision keys as the store would.
type keyRing map[string]store.DecisionKeyOwner

func (k keyRing) DecisionKeyByKeyID(_ context.Context, id string) (store.DecisionKeyOwner, error) {
	if key, ok := k[id]; ok {
		return key, nil
	}
	return store.DecisionKeyOwner{}, store.ErrNotFound
}

func (k keyRing) TouchDecisionKey(context.Context, int64, time.Time) error { return nil }

// issue gives user a decision key and returns its private half.
func (k keyRing) issue(user string) string {
	key := proof.NewUserKey()
	k[key.ID] = store.DecisionKeyOwner{
		DecisionKey: store.DecisionKey{KeyID: key.ID, PublicKey: key.Public, Expires: epoch.AddDate(0, 3, 0)},
		Username:    user, UserActive: true,
	}
	return key.Private
}

// signedBy is d's payload signed with a private decision key at the
// harness's current time.
func (h *harness) signedBy(private string, d workflows.Decision) func() any {
	return func() any {
		d.RequestID = requestID
		p, err := proof.SignUser(private, d.Claims(), h.env.Now())
		require.NoError(h.t, err)
		return d.Payload(&p)
	}
}

func refusalCode(t *testing.T, err error) approval.Code {
	t.Helper()
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	return approval.Code(app.Type())
}

var sreStage = plan(stage("SRE", 1, sreTeam, 1, 72*time.Hour, day))

func TestDecisions_VerifiedWorkerAcceptsOnlyProvenUsers(t *testing.T) {
	t.Parallel()
	keys := keyRing{}
	bobKey, carolKey := keys.issue("bob"), keys.issue("carol")
	h := newHarnessTrusting(t, proof.ModeVerified, keys)
	approveBob := workflows.Decision{Action: approval.ActionApprove, User: "bob"}

	noProof := h.rawUpdateAt(time.Hour, workflows.Approve, func() any { return workflows.ApproveInput{User: "admin"} })
	impostor := h.rawUpdateAt(2*time.Hour, workflows.Approve, h.signedBy(carolKey, approveBob))
	h.rawSignalAt(3*time.Hour, workflows.Approve, func() any { return workflows.ApproveInput{User: "admin"} })
	h.rawSignalAt(4*time.Hour, workflows.Approve, h.signedBy(carolKey, approveBob))
	before := h.stateAt(5 * time.Hour)
	proven := h.rawUpdateAt(6*time.Hour, workflows.Approve, h.signedBy(bobKey, approveBob))

	res := h.run(input(sreStage))

	assert.Equal(t, approval.CodeProofRequired, refusalCode(t, noProof.rejected), "refused by the validator: no trace in history")
	require.True(t, impostor.done)
	assert.Nil(t, impostor.rejected, "a proof needs its key looked up: the validator lets it through")
	assert.Equal(t, approval.CodeProofInvalid, refusalCode(t, impostor.err), "then the check refuses carol's key for bob")

	assert.Equal(t, approval.StatusPendingApproval, before.Status, "nothing so far was applied")
	require.Len(t, before.Refused, 2)
	assert.Equal(t, approval.CodeProofRequired, before.Refused[0].Code)
	assert.Equal(t, approval.CodeProofInvalid, before.Refused[1].Code)

	require.NoError(t, proven.err)
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	assert.Equal(t, approval.Via{Channel: "cli"}, proven.state.Stages[0].Responses[0].Via, "a proven CLI decision is not marked unverified")
}

func TestDecisions_ForgedStaleAndReusedAPIProofs(t *testing.T) {
	t.Parallel()
	h := newHarnessTrusting(t, proof.ModeVerified, keyRing{})
	comment := workflows.Decision{RequestID: requestID, Action: approval.ActionComment, User: "alice", Text: "hello"}
	stranger, err := proof.NewServiceKeys("x", map[string][]byte{"x": make([]byte, 32)})
	require.NoError(t, err)

	forged := h.rawUpdateAt(time.Hour, workflows.Comment, func() any { return comment.Signed(stranger, proof.ChannelAPI, h.env.Now()) })
	var signedAt time.Time
	first := h.rawUpdateAt(2*time.Hour, workflows.Comment, func() any {
		signedAt = h.env.Now()
		return testkitSigned(comment, signedAt)
	})
	replayed := h.rawUpdateAt(2*time.Hour+time.Minute, workflows.Comment, func() any { return testkitSigned(comment, signedAt) })
	stale := h.rawUpdateAt(3*time.Hour, workflows.Comment, func() any {
		return testkitSigned(comment, h.env.Now().Add(-proof.ServiceMaxAge-time.Second))
	})
	h.rawSignalAt(4*time.Hour, workflows.Comment, func() any { return testkitSigned(comment, signedAt) })
	h.updateAt(5*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})

	h.run(input(sreStage))

	assert.Equal(t, approval.CodeProofInvalid, refusalCode(t, forged.rejected))
	require.NoError(t, first.err)
	assert.Equal(t, approval.CodeProofReused, refusalCode(t, replayed.rejected))
	assert.Equal(t, approval.CodeProofExpired, refusalCode(t, stale.rejected))
	last := h.world.lastPublished(t).Request
	require.Len(t, last.Comments, 1, "one comment, whatever was replayed")
	require.Len(t, last.Refused, 1)
	assert.Equal(t, approval.CodeProofExpired, last.Refused[0].Code, "the API's proof sent again as a signal, two hours later")
}

func TestDecisions_TrustedWorkerRecordsUnverified_OffRefuses(t *testing.T) {
	t.Parallel()
	trusting := newHarnessTrusting(t, proof.ModeTrusted, keyRing{})
	byCLI := trusting.rawUpdateAt(time.Hour, workflows.Approve, func() any { return workflows.ApproveInput{User: "bob"} })
	trusting.run(input(sreStage))
	require.NoError(t, byCLI.err)
	assert.Equal(t, approval.Via{Channel: "cli", Unverified: true}, byCLI.state.Stages[0].Responses[0].Via)

	off := newHarnessTrusting(t, proof.ModeOff, keyRing{})
	keys := keyRing{}
	bobKey := keys.issue("bob")
	refused := off.rawUpdateAt(time.Hour, workflows.Approve, off.signedBy(bobKey, workflows.Decision{Action: approval.ActionApprove, User: "bob"}))
	off.signalAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	viaAPI := off.updateAt(3*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	res := off.run(input(sreStage))
	assert.Equal(t, approval.CodeTemporalDecisionsOff, refusalCode(t, refused.rejected))
	require.NoError(t, viaAPI.err, "the API's decisions still go through")
	assert.Equal(t, approval.StatusSuccessful, res.Status)
	last := off.world.lastPublished(t).Request
	require.Len(t, last.Refused, 1)
	assert.Equal(t, approval.CodeTemporalDecisionsOff, last.Refused[0].Code)
	assert.Equal(t, "api", last.Stages[0].Responses[0].Via.Channel)
}

// testkitSigned is d as the API signs it at at.
func testkitSigned(d workflows.Decision, at time.Time) any {
	return d.Signed(testkit.ServiceKeys(), proof.ChannelAPI, at)
}

func TestDecisions_WebUISummaryNamesChannels(t *testing.T) {
	t.Parallel()
	h := newHarnessTrusting(t, proof.ModeTrusted, keyRing{})
	h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob"})
	h.signalAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	v, err := h.env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(t, err)
	var meta sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&meta))
	assert.Contains(t, meta.GetCurrentDetails(), "Decisions: bob approved via api, carol approved via cli (unverified).")
}

// sreRoster is the sre stage's roster as the API reads it, with members.
func sreRoster(stage int, members ...string) *workflows.StageRoster {
	team := sreTeam.ID
	return &workflows.StageRoster{Stage: stage, Team: &team,
		Roster: approval.Roster{TeamMembers: members, OrgAdmins: []string{"erin"}, Superusers: []string{"admin"}}}
}

func TestDecisions_JudgedByTheRosterTheyCarry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// bob left the team (the workflow has not heard yet), then approves.
	removed := h.updateAt(time.Hour, workflows.Approve, workflows.ApproveInput{User: "bob", Roster: sreRoster(0, "alice", "carol")})
	// grace became a superuser a moment ago: she may decide.
	added := h.updateAt(2*time.Hour, workflows.Approve, workflows.ApproveInput{User: "grace",
		Roster: &workflows.StageRoster{Stage: 0, Team: &sreTeam.ID, Roster: approval.Roster{
			TeamMembers: []string{"alice", "carol"}, OrgAdmins: []string{"erin"}, Superusers: []string{"admin", "grace"}}}})
	// A roster for a stage that is not open is ignored.
	otherStage := h.updateAt(3*time.Hour, workflows.Approve, workflows.ApproveInput{User: "zed", Roster: sreRoster(1, "zed")})
	h.run(input(plan(stage("SRE", 1, sreTeam, 2, 72*time.Hour, day))))

	assert.Equal(t, approval.CodeNotEligible, refusalCode(t, removed.rejected), "the removal holds at once")
	require.NoError(t, added.err, "so does the new superuser")
	assert.Equal(t, approval.CodeNotEligible, refusalCode(t, otherStage.rejected))
	assert.Equal(t, []string{"alice", "carol"}, added.state.Roster.TeamMembers, "the request keeps the fresher roster")
	assert.Equal(t, []string{"carol"}, added.state.EligibleApprovers)
}

func TestDecisions_CLIDecisionsAreJudgedByTheRosterOfNow(t *testing.T) {
	t.Parallel()
	keys := keyRing{}
	bobKey := keys.issue("bob")
	h := newHarnessTrusting(t, proof.ModeVerified, keys)
	// bob leaves the team; his proven decision from the CLI comes before
	// the request hears of it.
	h.env.RegisterDelayedCallback(func() { h.world.setTeam(sreTeam.ID, "alice", "carol", "frank") }, 30*time.Minute)
	h.rawSignalAt(time.Hour, workflows.Approve, h.signedBy(bobKey, workflows.Decision{Action: approval.ActionApprove, User: "bob"}))
	// A decision key cannot vouch for a roster: the one bob attaches is
	// ignored.
	h.rawSignalAt(2*time.Hour, workflows.Approve, h.signedBy(bobKey, workflows.Decision{Action: approval.ActionApprove, User: "bob",
		Roster: sreRoster(0, "bob")}))
	h.updateAt(3*time.Hour, workflows.Approve, workflows.ApproveInput{User: "carol"})
	h.run(input(sreStage))

	last := h.world.lastPublished(t).Request
	require.Len(t, last.Refused, 2)
	for _, r := range last.Refused {
		assert.Equal(t, approval.CodeNotEligible, r.Code, r.Message)
	}
	assert.Equal(t, "carol", last.Stages[0].Responses[0].User)
}
