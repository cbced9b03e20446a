// Package awx is Countersign's typed client for the AWX REST API (/api/v2/).
//
// It covers what Countersign needs to check, launch and follow AWX job
// templates and workflow job templates: the caller's identity, template
// details, launch prompts and surveys, workflow nodes, launches, jobs, job
// lists and cancellation. Field names and semantics follow AWX; where AWX
// stores the same thing in several shapes (survey choices as a list or a
// newline-separated string, survey min/max as a number, null or ""), the types
// here normalise them so callers see one shape.
//
// Every failure is an error value callers can classify: *APIError for a non-2xx
// answer from AWX (with AWX's message), ErrNotFound and ErrNotCancelable through
// errors.Is, and IsTransient to decide whether retrying can help.
package awx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultTimeout bounds one HTTP exchange when the caller does not supply
	// its own *http.Client. A shorter context deadline still wins.
	DefaultTimeout = 30 * time.Second

	// DefaultUserAgent is sent unless WithUserAgent overrides it.
	DefaultUserAgent = "countersign"

	// maxBodyBytes caps how much of a successful response is read, so a
	// misbehaving server or proxy cannot exhaust memory.
	maxBodyBytes = 10 << 20
	// maxErrorBodyBytes caps error bodies, which are kept on *APIError.
	maxErrorBodyBytes = 64 << 10

	// pageSize is AWX's MAX_PAGE_SIZE; asking for more is silently capped.
	pageSize = 200
	// maxPages bounds list walks (200 × 50 = 10,000 objects). A filter that
	// matches more is too broad for any Countersign use and is reported as an
	// error rather than silently truncated.
	maxPages = 50
)

// Client talks to one AWX instance with one bearer token. It is safe for
// concurrent use; build it once with New and share it.
type Client struct {
	base      *url.URL // scheme://host[/prefix], no trailing slash
	token     string
	http      *http.Client
	userAgent string
}

// Option customises a Client built by New.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc (for custom TLS,
// proxies or timeouts). A nil hc keeps the default, whose timeout is
// DefaultTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithUserAgent sets the User-Agent header, which shows up in AWX's access
// logs. An empty value keeps DefaultUserAgent.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// New returns a Client for the AWX instance at baseURL (for example
// "https://awx.example.com"; a trailing slash and a path prefix are allowed)
// authenticating with an AWX OAuth2 or personal access token sent as
// "Authorization: Bearer <token>".
//
// It fails when baseURL is not an absolute http or https URL, carries
// credentials, a query or a fragment, or when token is empty. It makes no
// request: call Me to check the token. The token never appears in errors.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the *url.Error text would repeat the raw URL
		}
		return nil, fmt.Errorf("awx: invalid base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("awx: base URL must be an absolute http:// or https:// URL")
	case u.Host == "":
		return nil, errors.New("awx: base URL has no host")
	case u.User != nil:
		return nil, errors.New("awx: base URL must not contain credentials; pass the token instead")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("awx: base URL must not have a query or fragment")
	}
	if token == "" {
		return nil, errors.New("awx: token is empty")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{
		base:      u,
		token:     token,
		http:      &http.Client{Timeout: DefaultTimeout},
		userAgent: DefaultUserAgent,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// BaseURL returns the AWX base URL without a trailing slash, suitable for
// JobURL.
func (c *Client) BaseURL() string {
	return c.base.String()
}

// endpoint builds the URL of an API path such as "/api/v2/jobs/7/".
func (c *Client) endpoint(path string, query url.Values) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	return &u
}

// resolveNext turns a pagination link into a URL. AWX sends path+query, but a
// proxy may rewrite it to an absolute URL; either way the link must stay on
// the configured AWX so the token is never sent anywhere else.
func (c *Client) resolveNext(next string) (*url.URL, error) {
	ref, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("awx: invalid pagination link %q: %w", next, err)
	}
	u := c.base.ResolveReference(ref)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("awx: pagination link %q leaves %s", next, c.base.Host)
	}
	return u, nil
}

// netError marks a failure to exchange a request with AWX (refused or reset
// connection, EOF, the HTTP client's own timeout) while the caller's context
// was still live, which IsTransient reports as retryable.
type netError struct {
	method, path string
	err          error
}

func (e *netError) Error() string {
	msg := e.err.Error()
	var ue *url.Error
	if errors.As(e.err, &ue) {
		msg = ue.Err.Error() // the method and path already say which request
	}
	return fmt.Sprintf("AWX %s %s failed: %s", e.method, e.path, msg)
}

func (e *netError) Unwrap() error { return e.err }

// exchangeError classifies a transport-level failure. The caller's own
// cancellation or deadline is final (the caller gave up), and so is a TLS
// certificate the client refuses, which no retry can fix.
func exchangeError(ctx context.Context, method, path string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("AWX %s %s: %w", method, path, err)
		}
		return fmt.Errorf("AWX %s %s: %w: %w", method, path, ctxErr, err)
	}
	var (
		verifyErr    *tls.CertificateVerificationError
		authorityErr x509.UnknownAuthorityError
		hostnameErr  x509.HostnameError
		invalidErr   x509.CertificateInvalidError
	)
	if errors.As(err, &verifyErr) || errors.As(err, &authorityErr) ||
		errors.As(err, &hostnameErr) || errors.As(err, &invalidErr) {
		return fmt.Errorf("AWX %s %s: %w", method, path, err)
	}
	return &netError{method: method, path: path, err: err}
}

// do sends one request and returns the body of a 2xx answer. Any other status
// becomes an *APIError; transport failures go through exchangeError.
func (c *Client) do(ctx context.Context, method string, u *url.URL, in any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("awx: encoding %s %s request: %w", method, u.Path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, nil, fmt.Errorf("awx: building %s %s request: %w", method, u.Path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, exchangeError(ctx, method, u.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()

	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := int64(maxBodyBytes)
	if !ok {
		limit = maxErrorBodyBytes
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, exchangeError(ctx, method, u.Path, err)
	}
	if !ok {
		cut := int64(len(data)) > limit
		if cut {
			data = data[:limit]
		}
		apiErr := newAPIError(method, u.Path, resp.StatusCode, data)
		apiErr.Truncated = cut
		return resp.StatusCode, nil, apiErr
	}
	if int64(len(data)) > limit {
		return 0, nil, fmt.Errorf("AWX %s %s: response body exceeds %d bytes", method, u.Path, limit)
	}
	return resp.StatusCode, data, nil
}

// decode unmarshals a 2xx body. A failure here means AWX (or something in
// front of it) answered with a shape Countersign does not understand, which
// retrying will not change.
func decode(method string, u *url.URL, data []byte, out any) error {
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("AWX %s %s: decoding response: %w", method, u.Path, err)
	}
	return nil
}

func (c *Client) getURL(ctx context.Context, u *url.URL, out any) error {
	_, data, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return decode(http.MethodGet, u, data, out)
}

func (c *Client) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	return c.getURL(ctx, c.endpoint(path, query), out)
}

// postJSON sends in (nil for no body) and decodes the answer into out unless
// out is nil. It returns the 2xx status.
func (c *Client) postJSON(ctx context.Context, path string, in, out any) (int, error) {
	u := c.endpoint(path, nil)
	status, data, err := c.do(ctx, http.MethodPost, u, in)
	if err != nil {
		return status, err
	}
	if out == nil {
		return status, nil
	}
	return status, decode(http.MethodPost, u, data, out)
}

// page is AWX's list envelope. next is path+query (or null on the last page).
type page[T any] struct {
	Count   int     `json:"count"`
	Next    *string `json:"next"`
	Results []T     `json:"results"`
}

// listAll walks every page of a list endpoint, following AWX's next links.
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("page_size", fmt.Sprint(pageSize))
	u := c.endpoint(path, q)
	var all []T
	for n := 1; ; n++ {
		var p page[T]
		if err := c.getURL(ctx, u, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Results...)
		if p.Next == nil || *p.Next == "" {
			return all, nil
		}
		if n == maxPages {
			return nil, fmt.Errorf("AWX GET %s: more than %d pages of %d; narrow the filter", path, maxPages, pageSize)
		}
		next, err := c.resolveNext(*p.Next)
		if err != nil {
			return nil, err
		}
		u = next
	}
}
