package approval_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/approval"
)

func TestCheckResubmit(t *testing.T) {
	const alice, bob, item = 10, 11, 3
	changes := approval.Resubmitted{ID: 7, RequesterID: alice, CatalogItem: item, Status: approval.StatusChangesRequested}
	with := func(f func(r *approval.Resubmitted)) approval.Resubmitted {
		r := changes
		f(&r)
		return r
	}
	for _, tt := range []struct {
		name  string
		user  int64
		item  int64
		r     approval.Resubmitted
		found bool
		want  approval.Code
	}{
		{"its requester, once", alice, item, changes, true, ""},
		{"missing", alice, item, approval.Resubmitted{ID: 7}, false, approval.CodeResubmitUnknown},
		{"someone else's", bob, item, changes, true, approval.CodeResubmitUnknown},
		{"someone else's, another item", bob, 4, changes, true, approval.CodeResubmitUnknown},
		{"another item", alice, 4, changes, true, approval.CodeResubmitOtherItem},
		{"rejected", alice, item, with(func(r *approval.Resubmitted) { r.Status = approval.StatusRejected }), true, approval.CodeNotResubmittable},
		{"pending", alice, item, with(func(r *approval.Resubmitted) { r.Status = approval.StatusPendingApproval }), true, approval.CodeNotResubmittable},
		{"successful", alice, item, with(func(r *approval.Resubmitted) { r.Status = approval.StatusSuccessful }), true, approval.CodeNotResubmittable},
		{"already resubmitted", alice, item, with(func(r *approval.Resubmitted) { r.Children = 1 }), true, approval.CodeAlreadyResubmitted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := approval.CheckResubmit(tt.user, tt.item, tt.r, tt.found)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			var ref *approval.Refusal
			require.True(t, errors.As(err, &ref), "want a *Refusal, got %v", err)
			assert.Equal(t, tt.want, ref.Code)
			assert.Contains(t, ref.Message, "request 7")
			assert.Equal(t, tt.want == approval.CodeResubmitUnknown || tt.want == approval.CodeResubmitOtherItem, approval.ResubmitInput(ref.Code))
		})
	}
}
