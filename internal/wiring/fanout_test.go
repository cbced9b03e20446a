package wiring

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/notify"
)

type notifierFunc func(context.Context, notify.Notification) error

func (f notifierFunc) Notify(ctx context.Context, n notify.Notification) error { return f(ctx, n) }

func TestFanOut(t *testing.T) {
	var got []string
	ok := func(name string) notify.Notifier {
		return notifierFunc(func(context.Context, notify.Notification) error { got = append(got, name); return nil })
	}
	failing := func(err error) notify.Notifier {
		return notifierFunc(func(context.Context, notify.Notification) error { return err })
	}
	permanent := fmt.Errorf("refused: %w", notify.ErrPermanent)
	transient := errors.New("timeout")

	assert.NoError(t, fanOut{ok("log"), ok("slack")}.Notify(context.Background(), notify.Notification{}))
	assert.Equal(t, []string{"log", "slack"}, got)

	got = nil
	err := fanOut{failing(transient), ok("slack")}.Notify(context.Background(), notify.Notification{})
	assert.Error(t, err)
	assert.Equal(t, []string{"slack"}, got, "one failing channel does not stop the others")

	assert.ErrorIs(t, fanOut{failing(permanent), failing(permanent)}.Notify(context.Background(), notify.Notification{}), notify.ErrPermanent)
	err = fanOut{failing(permanent), failing(transient)}.Notify(context.Background(), notify.Notification{})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, notify.ErrPermanent, "a retry may still deliver through the transient one")
}
