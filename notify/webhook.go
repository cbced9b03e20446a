package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Webhook POSTs each notification as JSON to a URL (NOTIFY_WEBHOOK_URL), with
// the headers X-Countersign-Event (the kind) and X-Countersign-Delivery (the
// notification id, stable across retries). A 2xx answer is success; 408, 429
// and 5xx answers and network errors are transient; other answers are
// permanent.
type Webhook struct {
	url    string
	client *http.Client
}

// NewWebhook checks that rawURL is an absolute http(s) URL. A nil client gets
// one with a 10s timeout.
func NewWebhook(rawURL string, client *http.Client) (*Webhook, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notification webhook URL %q must be an absolute http or https URL", rawURL)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Webhook{url: u.String(), client: client}, nil
}

// Notify delivers n once.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("%w: encode notification: %v", ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "countersign")
	req.Header.Set("X-Countersign-Event", string(n.Kind))
	req.Header.Set("X-Countersign-Delivery", n.ID)
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("notification webhook: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("notification webhook answered %d: %s", resp.StatusCode, bytes.TrimSpace(snippet))
	default:
		return fmt.Errorf("%w: notification webhook answered %d: %s", ErrPermanent, resp.StatusCode, bytes.TrimSpace(snippet))
	}
}
