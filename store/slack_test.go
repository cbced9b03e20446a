package store_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/store"
)

func TestStore_SlackLinks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bob, carol := f.users["bob"], f.users["carol"]

	t.Run("link, relink and recipients", func(t *testing.T) {
		require.NoError(t, f.s.LinkSlackUser(ctx, "U0BOB", bob.ID, store.SlackLinkedByEmail))
		u, err := f.s.SlackUser(ctx, "U0BOB")
		require.NoError(t, err)
		assert.Equal(t, "bob", u.Username)
		// The Slack account moves to carol: bob is no longer linked.
		require.NoError(t, f.s.LinkSlackUser(ctx, "U0BOB", carol.ID, store.SlackLinkedByLink))
		rs, err := f.s.SlackRecipients(ctx, []string{"bob", "carol", "nobody"})
		require.NoError(t, err)
		assert.Equal(t, []store.SlackRecipient{{UserID: carol.ID, Username: "carol", SlackUserID: "U0BOB"}}, rs)
		_, err = f.s.SlackUser(ctx, "U0NONE")
		assert.ErrorIs(t, err, store.ErrNotFound)
		assert.ErrorIs(t, f.s.LinkSlackUser(ctx, "not an id", bob.ID, store.SlackLinkedByLink), store.ErrInvalid)
	})

	t.Run("an inactive user is not linked", func(t *testing.T) {
		require.NoError(t, f.s.LinkSlackUser(ctx, "U0ERIN", f.users["erin"].ID, store.SlackLinkedByEmail))
		require.NoError(t, f.s.SetUserActive(ctx, f.users["erin"].ID, false))
		_, err := f.s.SlackUser(ctx, "U0ERIN")
		assert.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("by e-mail: exact and unique", func(t *testing.T) {
		u, err := f.s.UserByEmail(ctx, "alice@example.com")
		require.NoError(t, err)
		assert.Equal(t, "alice", u.Username)
		_, err = f.s.UserByEmail(ctx, "ALICE@example.com")
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = f.s.UserByEmail(ctx, "")
		assert.ErrorIs(t, err, store.ErrNotFound)
		_, err = f.s.CreateUser(ctx, store.NewUser{Username: "alice2", Email: "alice@example.com"})
		require.NoError(t, err)
		_, err = f.s.UserByEmail(ctx, "alice@example.com")
		assert.ErrorIs(t, err, store.ErrNotFound, "an address two users share links neither")
	})

	t.Run("one-time link tokens are single use and expire", func(t *testing.T) {
		now := time.Now()
		h := sha256.Sum256([]byte("token"))
		require.NoError(t, f.s.CreateSlackLinkToken(ctx, h[:], "U0NEW", now.Add(10*time.Minute)))
		id, err := f.s.SlackLinkToken(ctx, h[:], now)
		require.NoError(t, err)
		assert.Equal(t, "U0NEW", id)
		_, err = f.s.UseSlackLinkToken(ctx, h[:], bob.ID, now.Add(11*time.Minute))
		assert.ErrorIs(t, err, store.ErrNotFound, "expired")
		id, err = f.s.UseSlackLinkToken(ctx, h[:], bob.ID, now)
		require.NoError(t, err)
		assert.Equal(t, "U0NEW", id)
		u, err := f.s.SlackUser(ctx, "U0NEW")
		require.NoError(t, err)
		assert.Equal(t, "bob", u.Username)
		_, err = f.s.UseSlackLinkToken(ctx, h[:], carol.ID, now)
		assert.ErrorIs(t, err, store.ErrNotFound, "used")
	})

	t.Run("messages", func(t *testing.T) {
		r := f.newRequest(t)
		require.NoError(t, f.s.SaveSlackMessage(ctx, store.SlackMessage{RequestID: r.ID, UserID: bob.ID, Channel: "D1", TS: "1.1"}))
		require.NoError(t, f.s.SaveSlackMessage(ctx, store.SlackMessage{RequestID: r.ID, UserID: bob.ID, Channel: "D1", TS: "2.2", NotificationID: "n2"}))
		ms, err := f.s.SlackMessages(ctx, r.ID)
		require.NoError(t, err)
		assert.Equal(t, []store.SlackMessage{{RequestID: r.ID, UserID: bob.ID, Username: "bob", Channel: "D1", TS: "2.2", NotificationID: "n2"}}, ms)
	})
}
