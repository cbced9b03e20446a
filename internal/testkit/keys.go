package testkit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/workflows"
)

// PayloadKeyID names the tests' payload key; its bytes derive from a fixed
// phrase, so the replay fixtures recorded with it stay readable.
const PayloadKeyID = "test-2026"

// PayloadKeys is the tests' payload key as PAYLOAD_KEYS takes it, for the
// processes tests start.
func PayloadKeys() string {
	key := sha256.Sum256([]byte("countersign test payload key, never used outside the tests"))
	return PayloadKeyID + ":" + base64.StdEncoding.EncodeToString(key[:])
}

// PayloadRing is the payload key ring every test client encrypts with.
func PayloadRing() *codec.Ring {
	r, err := codec.ParseKeys(PayloadKeys())
	if err != nil {
		panic(err)
	}
	return r
}

// ServiceKeys sign decisions as the API does with PayloadRing.
func ServiceKeys() *proof.ServiceKeys {
	return proof.ServiceKeysFrom(PayloadRing())
}

// decisionOf reads a decision payload.
func decisionOf(requestID int64, arg any) (workflows.Decision, bool) {
	switch in := arg.(type) {
	case workflows.ApproveInput:
		return in.Decision(requestID), in.Proof == nil
	case workflows.RejectInput:
		return in.Decision(requestID), in.Proof == nil
	case workflows.CommentInput:
		return in.Decision(requestID), in.Proof == nil
	case workflows.CancelInput:
		return in.Decision(requestID), in.Proof == nil
	}
	return workflows.Decision{}, false
}

// AsAPI returns a decision payload without a proof as the API sends it:
// signed with ServiceKeys for the api channel at now. Anything else is
// returned as it is.
func AsAPI(requestID int64, arg any, now time.Time) any {
	if d, unsigned := decisionOf(requestID, arg); unsigned {
		return d.Signed(ServiceKeys(), proof.ChannelAPI, now)
	}
	return arg
}

// updateAsAPI sends an update as the API does and waits for its result.
func updateAsAPI(ctx context.Context, c client.Client, requestID int64, name string, arg any) (client.WorkflowUpdateHandle, error) {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.WorkflowID(requestID),
		UpdateName:   name,
		Args:         []any{AsAPI(requestID, arg, time.Now())},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, fmt.Errorf("update %s: %w", name, err)
	}
	return h, nil
}
