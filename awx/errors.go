package awx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

var (
	// ErrNotFound matches (errors.Is) any 404 from AWX: the object does not
	// exist or the token may not see it; AWX does not say which.
	ErrNotFound = errors.New("awx: not found")

	// ErrNotCancelable matches (errors.Is) the 405 AWX answers to a cancel of
	// a job that is no longer new, pending, waiting or running. The job has
	// finished or is finishing: poll it for its final status.
	ErrNotCancelable = errors.New("awx: job is not cancelable")
)

// maxMessageRunes keeps messages shown to users and written to logs on one
// readable line even when a proxy sends a whole HTML page.
const maxMessageRunes = 300

// Encrypted is how AWX shows a password, and the placeholder a Masker puts
// in place of one.
const Encrypted = "$encrypted$"

// Masker hides secrets (a request's password answers) in AWX's text;
// survey.Masker is the one Countersign uses. Mask replaces each secret in
// text with Encrypted; cut says that text may end in the middle of a secret,
// whose first part must then be masked too. Placeholders already in text
// must be left as they are.
type Masker interface {
	Mask(text string, cut bool) string
}

// nonFieldKey is DRF's key for errors that concern no single field.
const nonFieldKey = "__all__"

// APIError is a non-2xx answer from AWX. AWX (Django REST Framework) words
// errors in one of three shapes, decoded into Detail ({"detail": "..."}),
// ErrorText ({"error": "..."}) or Fields ({"field": ["message", ...]}); a body
// that is not JSON (an HTML page from a proxy) is kept in Body only.
type APIError struct {
	Method     string
	Path       string // URL path of the request, without the query
	StatusCode int
	// Body is the raw answer, cut at 64 KiB.
	Body []byte
	// Truncated is true when Body was cut.
	Truncated bool
	// Detail is DRF's generic message, used for 401, 403, 404, 405 and parse errors.
	Detail string
	// Fields holds validation messages by field name, e.g.
	// variables_needed_to_start for survey errors; "__all__" holds
	// non-field errors. Nested values are flattened to "key: message".
	Fields map[string][]string
	// ErrorText is the custom {"error": "..."} some AWX views answer.
	ErrorText string

	sentinel error
}

// Error returns a one-line description such as
// "AWX POST /api/v2/job_templates/7/launch/ returned 400: variables_needed_to_start: 'region' value missing".
func (e *APIError) Error() string {
	return fmt.Sprintf("AWX %s %s returned %d: %s", e.Method, e.Path, e.StatusCode, e.Message())
}

// Message returns AWX's own explanation without the request prefix, on one
// line and cut to a readable length; this is what Countersign shows users as
// a failure reason. Field errors are listed in field-name order. When AWX gave
// no usable text it falls back to the page title or the HTTP status text.
// AWX quotes refused values, passwords included: use MaskedMessage for
// anything a user, a log or a workflow history may see.
func (e *APIError) Message() string { return e.MaskedMessage(nil) }

// MaskedMessage is Message with m's secrets masked. m sees AWX's whole text
// before it is put on one line and cut, so a secret is masked whatever its
// length or whitespace; the cut never splits a placeholder nor leaves the
// first part of a secret (m masks what the cut left, and the cut moves
// before the mask when it would not fit). A nil m masks nothing.
func (e *APIError) MaskedMessage(m Masker) string {
	text, cut := e.text(m)
	if m == nil {
		return truncate(oneLine(text), maxMessageRunes, nil)
	}
	// Collapsing whitespace can form a secret's collapsed form anew: mask
	// again after.
	text = m.Mask(oneLine(text), cut)
	return truncate(text, maxMessageRunes, m)
}

// MaskedError is Error with m's secrets masked (see MaskedMessage).
func (e *APIError) MaskedError(m Masker) string {
	return fmt.Sprintf("AWX %s %s returned %d: %s", e.Method, e.Path, e.StatusCode, e.MaskedMessage(m))
}

// text is AWX's explanation, whole and with its own whitespace, masked by m
// when m is not nil; cut is true when it ends where the body was cut.
func (e *APIError) text(m Masker) (text string, cut bool) {
	mask := func(s string, cut bool) string {
		if m == nil {
			return s
		}
		return m.Mask(s, cut)
	}
	var parts []string
	if e.Detail != "" {
		parts = append(parts, e.Detail)
	}
	if e.ErrorText != "" {
		parts = append(parts, e.ErrorText)
	}
	if fields := e.fieldText(); fields != "" {
		parts = append(parts, fields)
	}
	msg := mask(strings.Join(parts, "; "), false)
	if msg == "" && !json.Valid(e.Body) {
		// Masked before markup is removed, which could split a secret,
		// and after entities are decoded, which could form one.
		var toEnd bool
		msg, toEnd = textSummary(mask(strings.ToValidUTF8(string(e.Body), ""), e.Truncated))
		cut = toEnd && e.Truncated
		msg = mask(msg, cut)
	}
	if strings.TrimSpace(msg) == "" {
		msg, cut = http.StatusText(e.StatusCode), false
	}
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return msg, cut
}

// Unwrap lets errors.Is match ErrNotFound and ErrNotCancelable.
func (e *APIError) Unwrap() error { return e.sentinel }

// transient reports whether the same request may succeed later: AWX or its
// proxy is overloaded or restarting (5xx), or asked the client to slow down or
// try again (429, 408).
func (e *APIError) transient() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode == http.StatusRequestTimeout
}

func (e *APIError) fieldText() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		msgs := strings.Join(e.Fields[k], "; ")
		if k == nonFieldKey {
			parts = append(parts, msgs)
		} else {
			parts = append(parts, k+": "+msgs)
		}
	}
	return strings.Join(parts, "; ")
}

// IsTransient reports whether err is worth retrying with backoff because AWX
// was unreachable or temporarily unable to answer:
//
//   - network failures while the caller's context was still live: connection
//     refused or reset, EOF or unexpected EOF before a full answer, and the
//     HTTP client's own timeout;
//   - AWX or proxy answers 5xx, 429 (Too Many Requests) and 408 (Request Timeout).
//
// Everything else is permanent: 400 (validation, e.g. survey errors), 401,
// 403, 404, 405, a 2xx body that cannot be decoded, an invalid request,
// a refused TLS certificate, and the caller's own context cancellation or
// deadline (the caller gave up; retrying on its behalf would be wrong).
//
// A transient error from a launch does not mean the job was not created: AWX
// may have handled the POST before the connection broke or before a proxy
// in front of it gave up (502, 504). Look for the job (ListJobs) before
// launching again.
func IsTransient(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.transient()
	}
	var netErr *netError
	return errors.As(err, &netErr)
}

// newAPIError decodes whichever of AWX's error shapes body holds.
func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: status, Body: body}
	if status == http.StatusNotFound {
		e.sentinel = ErrNotFound
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return e // not JSON: Message falls back to the body's text
	}
	switch v := v.(type) {
	case map[string]any:
		for k, val := range v {
			msgs := flatten(val)
			switch {
			case len(msgs) == 0:
			case k == "detail":
				e.Detail = strings.Join(msgs, "; ")
			case k == "error":
				e.ErrorText = strings.Join(msgs, "; ")
			default:
				if e.Fields == nil {
					e.Fields = map[string][]string{}
				}
				e.Fields[k] = msgs
			}
		}
	case []any:
		if msgs := flatten(v); len(msgs) > 0 {
			e.Fields = map[string][]string{nonFieldKey: msgs}
		}
	case string:
		e.Detail = v
	}
	return e
}

// flatten turns a DRF error value into messages. DRF normally gives a list of
// strings, but single strings, numbers and nested serializer errors (objects
// or lists of objects) occur too; nested keys are kept as a "key: " prefix so
// no message loses its subject.
func flatten(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		var out []string
		for _, item := range v {
			out = append(out, flatten(item)...)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			for _, msg := range flatten(v[k]) {
				if k == nonFieldKey {
					out = append(out, msg)
				} else {
					out = append(out, k+": "+msg)
				}
			}
		}
		return out
	default:
		return []string{fmt.Sprint(v)}
	}
}

var (
	titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// textSummary extracts something readable from a non-JSON body: an HTML
// page's title (proxies put the status there, e.g. "502 Bad Gateway") or the
// body's text without markup, whitespace kept. toEnd is true when the text
// runs to the body's end, where the body may have been cut.
func textSummary(s string) (text string, toEnd bool) {
	if m := titleRE.FindStringSubmatch(s); m != nil {
		if t := html.UnescapeString(tagRE.ReplaceAllString(m[1], " ")); strings.TrimSpace(t) != "" {
			return t, false
		}
	}
	return html.UnescapeString(tagRE.ReplaceAllString(s, " ")), true
}

// oneLine collapses all whitespace runs (newlines included) to single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to max runes, the last one an ellipsis. The cut never
// splits an Encrypted placeholder; with m, what remains is masked again as
// a cut text, and when masking a trailing part of a secret would make it
// longer than max, the cut moves before that part instead.
func truncate(s string, max int, m Masker) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	head := string([]rune(s)[:max-1])
	// A placeholder that straddles the cut goes whole.
	for i := 0; ; {
		j := strings.Index(s[i:], Encrypted)
		if j < 0 || i+j >= len(head) {
			break
		}
		if start := i + j; start+len(Encrypted) > len(head) {
			head = head[:start]
			break
		}
		i += j + len(Encrypted)
	}
	if m != nil {
		// Each round either settles or drops the masked tail, so the head
		// shrinks until it holds no part of a secret.
		for len(head) > 0 {
			masked := m.Mask(head, true)
			if masked == head {
				break
			}
			if utf8.RuneCountInString(masked) <= max-1 {
				head = masked
				break
			}
			trimmed := strings.TrimSuffix(masked, Encrypted)
			if trimmed == masked || len(trimmed) >= len(head) {
				head = "" // cannot happen with a Masker that only masks
				break
			}
			head = trimmed
		}
	}
	return head + "…"
}
