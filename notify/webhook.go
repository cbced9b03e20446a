package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Webhook POSTs each notification as JSON to a URL (NOTIFY_WEBHOOK_URL), with
// the headers X-Countersign-Event (the kind), X-Countersign-Delivery (the
// notification id, stable across retries) and, when it has a secret,
// SignatureHeader. A 2xx answer is success; 408, 429 and 5xx answers and
// network errors are transient; other answers are permanent.
//
// The URL may hold a secret (a token in its path, query, user info or even
// host name): no error Notify returns shows any part of it, nor wraps an
// error that does, since delivery errors are logged and end up in workflow
// histories.
type Webhook struct {
	url    string
	secret []byte
	client *http.Client
	hide   *strings.Replacer
}

// NewWebhook checks that rawURL is an absolute http(s) URL; its error does
// not repeat the URL. With a secret, every delivery is signed (see
// SignatureHeader); an empty one sends them unsigned. A nil client gets one
// with a 10s timeout.
func NewWebhook(rawURL, secret string, client *http.Client) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the notification webhook URL must be an absolute http or https URL")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	w := &Webhook{url: u.String(), client: client, hide: urlParts(rawURL, u)}
	if secret != "" {
		w.secret = []byte(secret)
	}
	return w, nil
}

// urlParts replaces, in a text, every part of the webhook URL that may be
// secret, longest first so that the whole URL goes as one.
func urlParts(raw string, u *url.URL) *strings.Replacer {
	parts := []string{raw, u.String(), u.Redacted(), u.Host, u.Hostname(), u.Path, u.EscapedPath(), u.RawQuery, u.Fragment}
	if u.User != nil {
		parts = append(parts, u.User.String(), u.User.Username())
		if pw, ok := u.User.Password(); ok {
			parts = append(parts, pw, url.QueryEscape(pw))
		}
	}
	for _, values := range u.Query() {
		parts = append(parts, values...)
	}
	sort.Slice(parts, func(i, j int) bool { return len(parts[i]) > len(parts[j]) })
	var pairs []string
	seen := map[string]bool{}
	for _, p := range parts {
		// "/" or a one-letter path would take the message apart, and hides
		// nothing.
		if len(p) < 3 || seen[p] {
			continue
		}
		seen[p] = true
		pairs = append(pairs, p, "***")
	}
	return strings.NewReplacer(pairs...)
}

// Notify delivers n once.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("%w: encode notification: %v", ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: notification webhook: %s", ErrPermanent, w.hide.Replace(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "countersign")
	req.Header.Set("X-Countersign-Event", string(n.Kind))
	req.Header.Set("X-Countersign-Delivery", n.ID)
	if w.secret != nil {
		req.Header.Set(SignatureHeader, Sign(w.secret, time.Now(), body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return w.sendError(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// The receiver's answer may quote the URL (a 404 page names the path).
	snippet := w.hide.Replace(strings.Join(strings.Fields(string(raw)), " "))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("notification webhook answered %d: %s", resp.StatusCode, snippet)
	default:
		return fmt.Errorf("%w: notification webhook answered %d: %s", ErrPermanent, resp.StatusCode, snippet)
	}
}

// sendError describes a failed exchange without the URL: net/http's
// *url.Error names it in full, and the network error under it the host.
// The returned error wraps only context.Canceled or DeadlineExceeded, when
// one of them was the cause.
func (w *Webhook) sendError(err error) error {
	text := err.Error()
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		text = urlErr.Err.Error()
	}
	msg := "notification webhook: " + w.hide.Replace(text)
	for _, cause := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, cause) {
			return &deliveryError{msg: msg, cause: cause}
		}
	}
	return errors.New(msg)
}

type deliveryError struct {
	msg   string
	cause error
}

func (e *deliveryError) Error() string { return e.msg }
func (e *deliveryError) Unwrap() error { return e.cause }
