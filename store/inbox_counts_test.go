package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Inbox sizes are kept by the requests' writers, not counted when read:
// many writers changing overlapping approvers in opposite orders at once
// neither deadlock nor lose a count, and each size is what the user's
// inbox lists.
func TestStore_InboxSizesUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	users := []string{"u1", "u2", "u3", "u4", "u5"}

	const requests, rounds = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, requests*rounds)
	for r := range requests {
		req := f.newRequest(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(1); seq <= rounds; seq++ {
				st := snapshot(f, req.ID, seq)
				// From seq 3 a snapshot is launched and running: the test's
				// requests never launch, so that they may be deleted.
				st.Status, st.Job = "pending_approval", nil
				// Rotating and reversed sets: writers take the same users in
				// opposite orders; some rounds leave the inbox.
				approvers := slices.Clone(users[(r+int(seq))%3:])
				if r%2 == 1 {
					slices.Reverse(approvers)
				}
				st.PendingApprovers = append(approvers, approvers[0])
				if (r+int(seq))%4 == 0 {
					st.Status = "approved"
				}
				if _, err := s.RecordRequestState(ctx, st); err != nil {
					errs <- fmt.Errorf("request %d, seq %d: %w", req.ID, seq, err)
				}
			}
			if r%3 == 0 {
				if err := s.DeleteRequest(ctx, req.ID); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	listed := 0
	for _, u := range users {
		got, total, err := s.ListPendingFor(ctx, u, 0, 0)
		require.NoError(t, err)
		listed += len(got)
		assert.Len(t, got, total, "%s: the size is the number listed", u)
		_, first, err := s.ListPendingFor(ctx, u, 1, 0)
		require.NoError(t, err)
		assert.Equal(t, total, first, "%s: a page of one says the same size", u)
	}
	assert.Positive(t, listed, "some requests are left pending")
}

// An approver's inbox size is one row that every request pending for them
// changes: a writer locks it only as it commits, so a request's writer
// never waits for another request's transaction to finish. Each busy
// approver's row used to be held from a request's first statement to its
// commit, and every submission and decision for that approver queued
// behind it.
func TestStore_InboxSizeHeldOnlyAsATransactionCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := f.s
	first, second := f.newRequest(t), f.newRequest(t)

	open, err := s.DB().BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = open.Rollback() }()
	_, err = open.ExecContext(ctx, `UPDATE service_requests SET current_stage = 0, pending_approvers = '{bob}' WHERE id = $1`, first.ID)
	require.NoError(t, err)

	// Not a speed limit: a writer held up waits until the open transaction
	// ends, which here is never.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in := f.newRequestInput()
	in.CurrentStage, in.PendingApprovers = ptr(0), []string{"bob"}
	_, err = s.CreateRequest(wctx, in)
	require.NoError(t, err, "a new request pending for bob")
	st := snapshot(f, second.ID, 1)
	st.PendingApprovers = []string{"bob"}
	_, err = s.RecordRequestState(wctx, st)
	require.NoError(t, err, "another request now pending for bob")

	require.NoError(t, open.Commit())
	got, total, err := s.ListPendingFor(ctx, "bob", 0, 0)
	require.NoError(t, err)
	assert.Len(t, got, 3)
	assert.Equal(t, 3, total, "every writer's count is kept")
}
