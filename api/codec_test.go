package api_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/countersign/countersign/internal/testkit"
	"github.com/countersign/countersign/web"
)

// codecOrigin is the Temporal Web UI's origin in the tests.
const codecOrigin = "http://temporal-ui.example:8233"

// startInput is the encrypted input of a request's workflow, as its
// history holds it.
func (e *env) startInput(id int64) *commonpb.Payloads {
	e.t.Helper()
	for _, ev := range testkit.History(e.t, e.client, id).Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
			return ev.GetWorkflowExecutionStartedEventAttributes().GetInput()
		}
	}
	e.t.Fatalf("request %d has no start event", id)
	return nil
}

// codecCall posts payloads to the codec endpoint's op with header and
// cookie, and returns the status, the payloads answered and the headers.
func (e *env) codecCall(op string, in *commonpb.Payloads, header map[string]string, cookie *http.Cookie) (int, *commonpb.Payloads, http.Header) {
	e.t.Helper()
	body, err := protojson.Marshal(in)
	require.NoError(e.t, err)
	req, err := http.NewRequest("POST", e.url+"/api/v2/codec/"+op, bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	var out commonpb.Payloads
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(resp.Body)
	if resp.StatusCode == http.StatusOK {
		require.NoError(e.t, protojson.Unmarshal(raw.Bytes(), &out))
	}
	return resp.StatusCode, &out, resp.Header
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func TestAPI_CodecEndpoint(t *testing.T) {
	e := newEnv(t)
	provision, _ := e.catalog()
	id := e.submitAndWait(requester, provision, provisionAnswers(3), approver)
	encrypted := e.startInput(id)
	require.NotContains(t, encrypted.String(), "correct-horse-battery")
	require.NotContains(t, encrypted.String(), "demo-env")

	t.Run("superusers and the codec team read the answers", func(t *testing.T) {
		for _, user := range []string{superuser, otherTeam} {
			status, out, _ := e.codecCall("decode", encrypted, bearer(e.tokens[user]), nil)
			require.Equal(t, http.StatusOK, status, user)
			require.Len(t, out.Payloads, 1)
			assert.Equal(t, "json/plain", string(out.Payloads[0].Metadata["encoding"]))
			assert.Contains(t, string(out.Payloads[0].Data), `"db_password":"correct-horse-battery"`, user)
		}
	})
	t.Run("anyone else gets 403, without a token 401", func(t *testing.T) {
		for _, user := range []string{requester, approver, orgAdmin} {
			status, out, _ := e.codecCall("decode", encrypted, bearer(e.tokens[user]), nil)
			assert.Equal(t, http.StatusForbidden, status, user)
			assert.Empty(t, out.Payloads)
		}
		status, _, _ := e.codecCall("decode", encrypted, nil, nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Contains(t, e.logs.String(), `"msg":"codec call refused"`)
	})
	t.Run("the portal's session works without the CSRF header, from the UI's origin", func(t *testing.T) {
		s := e.session(superuser)
		status, out, h := e.codecCall("decode", encrypted, map[string]string{"Origin": codecOrigin, "X-Namespace": "default"},
			&http.Cookie{Name: web.SessionCookie, Value: s.token})
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, string(out.Payloads[0].Data), "correct-horse-battery")
		assert.Equal(t, codecOrigin, h.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))

		_, _, h = e.codecCall("decode", encrypted, map[string]string{"Origin": "http://evil.example"},
			&http.Cookie{Name: web.SessionCookie, Value: s.token})
		assert.Empty(t, h.Get("Access-Control-Allow-Origin"), "another origin's page cannot read the answer")
	})
	t.Run("preflight", func(t *testing.T) {
		for origin, want := range map[string]int{codecOrigin: http.StatusNoContent, "http://evil.example": http.StatusForbidden} {
			req, err := http.NewRequest("OPTIONS", e.url+"/api/v2/codec/decode", nil)
			require.NoError(t, err)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, want, resp.StatusCode, origin)
			if want == http.StatusNoContent {
				assert.Equal(t, codecOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
				assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace")
			} else {
				assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		}
	})
	t.Run("encode for the CLI, and plain payloads pass through", func(t *testing.T) {
		plain := &commonpb.Payloads{Payloads: []*commonpb.Payload{{
			Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`{"user":"carol"}`)}}}
		status, enc, _ := e.codecCall("encode", plain, bearer(e.tokens[superuser]), nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "binary/encrypted", string(enc.Payloads[0].Metadata["encoding"]))
		status, dec, _ := e.codecCall("decode", &commonpb.Payloads{Payloads: append(enc.Payloads, plain.Payloads...)}, bearer(e.tokens[superuser]), nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, `{"user":"carol"}`, string(dec.Payloads[0].Data))
		assert.Equal(t, `{"user":"carol"}`, string(dec.Payloads[1].Data))
	})
	t.Run("bad input", func(t *testing.T) {
		status, _ := e.raw(superuser, "POST", "/api/v2/codec/decode", `{"payloads": 3}`)
		assert.Equal(t, http.StatusBadRequest, status)
		tampered := &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: encrypted.Payloads[0].Metadata, Data: []byte("0123456789abcdefghijklmnopqrstuvwxyz")}}}
		status, _, _ = e.codecCall("decode", tampered, bearer(e.tokens[superuser]), nil)
		assert.Equal(t, http.StatusBadRequest, status)
		status, _ = e.raw(superuser, "POST", "/api/v2/codec/decode", bytes.Repeat([]byte(" "), 5<<20))
		assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	})
}
