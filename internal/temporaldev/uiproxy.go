package temporaldev

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"
)

// settingsPath is where the Web UI reads its server-side settings, the
// codec endpoint's among them.
const settingsPath = "/api/v1/settings"

// codecCredentialsProxy serves the dev server's Web UI (at target) with one
// change: the UI's settings turn on "include credentials" for the codec
// endpoint, which the dev server offers no flag for. The UI then calls the
// codec endpoint with the browser's cookies, so that whoever signed in to
// the portal on the same host reads decoded payloads, as a production UI
// configured with TEMPORAL_CODEC_INCLUDE_CREDENTIALS does.
func codecCredentialsProxy(target *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the UI server sees the address the browser uses
			if pr.In.URL.Path == settingsPath {
				pr.Out.Header.Del("Accept-Encoding") // a body to rewrite, not gzip
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != settingsPath || resp.StatusCode != http.StatusOK {
				return nil
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			var settings map[string]any
			if err := json.Unmarshal(body, &settings); err != nil {
				return fmt.Errorf("the Web UI's settings: %w", err)
			}
			if codec, ok := settings["Codec"].(map[string]any); ok {
				codec["IncludeCredentials"] = true
			}
			if body, err = json.Marshal(settings); err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
}

// serveUIProxy listens on port and serves the UI at uiPort through
// codecCredentialsProxy until the returned server is closed.
func serveUIProxy(port, uiPort int) (*http.Server, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen for the Web UI on port %d: %w", port, err)
	}
	target := &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(uiPort))}
	srv := &http.Server{Handler: codecCredentialsProxy(target), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
