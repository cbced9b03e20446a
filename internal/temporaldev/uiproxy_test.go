package temporaldev

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodecCredentialsProxy(t *testing.T) {
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case settingsPath:
			// Like the UI server, gzip when asked to.
			var out io.Writer = w
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				gz := gzip.NewWriter(w)
				defer gz.Close()
				out = gz
			}
			_, _ = io.WriteString(out, `{"Codec":{"Endpoint":"http://127.0.0.1:8080/api/v2/codec","PassAccessToken":false,"IncludeCredentials":false},"DefaultNamespace":"default"}`)
		default:
			_, _ = io.WriteString(w, "host="+r.Host+" path="+r.URL.Path)
		}
	}))
	t.Cleanup(ui.Close)
	target, err := url.Parse(ui.URL)
	require.NoError(t, err)
	proxy := httptest.NewServer(codecCredentialsProxy(target))
	t.Cleanup(proxy.Close)

	req, err := http.NewRequest("GET", proxy.URL+settingsPath, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var settings struct {
		Codec struct {
			Endpoint           string
			IncludeCredentials bool
		}
		DefaultNamespace string
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	assert.True(t, settings.Codec.IncludeCredentials, "the UI sends the browser's cookies to the codec endpoint")
	assert.Equal(t, "http://127.0.0.1:8080/api/v2/codec", settings.Codec.Endpoint)
	assert.Equal(t, "default", settings.DefaultNamespace, "the rest of the settings is kept")

	other, err := http.Get(proxy.URL + "/namespaces/default/workflows")
	require.NoError(t, err)
	defer other.Body.Close()
	body, err := io.ReadAll(other.Body)
	require.NoError(t, err)
	assert.Equal(t, "host="+proxy.Listener.Addr().String()+" path=/namespaces/default/workflows", string(body),
		"anything else passes unchanged, with the address the browser uses")
}
