package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/countersign/countersign/approval"
)

// readmeRefusalCodes are the codes of the README's refusal table.
func readmeRefusalCodes(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, table, ok := strings.Cut(string(raw), "Every refusal has a stable code and a message:\n")
	require.True(t, ok, "the README's refusal table")
	table, _, _ = strings.Cut(strings.TrimLeft(table, "\n"), "\n\n")
	var codes []string
	for _, line := range strings.Split(table, "\n")[2:] {
		first := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(first, -1) {
			codes = append(codes, m[1])
		}
	}
	sort.Strings(codes)
	return codes
}

// TestErrorResponse_Refusals: the one mapping answers every code of the
// README's refusal table with {"detail", "code"} and its status (403 about
// who acts, 400 about what the call holds, 409 about the request's state),
// whether the refusal is the API's own or the application error a workflow
// update was rejected with, and the table lists every code.
func TestErrorResponse_Refusals(t *testing.T) {
	status := map[approval.Code]int{
		approval.CodeUserRequired: 400, approval.CodeUnknownAction: 400, approval.CodeMalformed: 400,
		approval.CodeReasonRequired: 400, approval.CodeTextRequired: 400, approval.CodeTooLong: 400,
		approval.CodeFinished: 409, approval.CodeNotPending: 409, approval.CodeStageNotOpen: 409,
		approval.CodeRosterPending: 409, approval.CodeDeadlinePassed: 409, approval.CodeAlreadyDecided: 409,
		approval.CodeTooManyComments: 409, approval.CodeCancelRequested: 409, approval.CodeLaunched: 409,
		approval.CodeSelfDecision: 403, approval.CodeNotEligible: 403, approval.CodeNotAllowed: 403,
		approval.CodeProofRequired: 403, approval.CodeProofInvalid: 403, approval.CodeProofExpired: 403,
		approval.CodeProofReused: 403, approval.CodeTemporalDecisionsOff: 403, approval.CodeRecentLoginRequired: 403,
		approval.CodeResubmitUnknown: 400, approval.CodeResubmitOtherItem: 400, approval.CodeNotResubmittable: 409,
		approval.CodeAlreadyResubmitted:  409,
		approval.CodeExtensionNotAllowed: 409, approval.CodeExtensionExceeded: 409, approval.CodeInvalidDuration: 400,
		approval.CodeTeamRequired: 400, approval.CodeUnknownTeam: 400, approval.CodeAlreadyEscalated: 409,
		approval.CodeTooManyEscalations: 409,
		approval.CodeLinkInvalid:        403, approval.CodeLinkForwarded: 403, approval.CodeLinkExpired: 409, approval.CodeLinkUsed: 409,
	}
	var want []string
	for code := range status {
		want = append(want, string(code))
	}
	sort.Strings(want)
	require.Equal(t, want, readmeRefusalCodes(t), "the README's refusal table lists every code, once")

	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
	for code, wantStatus := range status {
		msg := fmt.Sprintf("refused: %s", code)
		ref := approval.Refusal{Code: code, Message: msg}
		for name, err := range map[string]error{
			"the API's":           &ref,
			"wrapped":             fmt.Errorf("deciding: %w", &ref),
			"a workflow update's": temporal.NewNonRetryableApplicationError(msg, string(code), nil, ref),
		} {
			got, body := s.errorResponse(c, err)
			assert.Equal(t, wantStatus, got, "%s as %s", code, name)
			assert.Equal(t, Problem{Detail: msg, Code: string(code)}, body, "%s as %s", code, name)
		}
	}

	// An application error that is not a refusal is not answered as one.
	got, _ := s.errorResponse(c, temporal.NewApplicationError("boom", "SomethingElse"))
	assert.Equal(t, http.StatusInternalServerError, got)
	assert.Nil(t, refusalOf(errors.New("plain")))
}
