package catcher_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/mail/catcher"
)

func TestLinkify(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []catcher.Run
	}{
		{"no link", []catcher.Run{{Text: "no link"}}},
		{"Approve: https://cs.example/ui/mail/decide?t=a.b\nnext", []catcher.Run{
			{Text: "Approve: "}, {Text: "https://cs.example/ui/mail/decide?t=a.b", Link: true}, {Text: "\nnext"}}},
		{"http://a.example http://b.example", []catcher.Run{
			{Text: "http://a.example", Link: true}, {Text: " "}, {Text: "http://b.example", Link: true}}},
		{`see "https://x.example/<tag>"`, []catcher.Run{{Text: `see "`}, {Text: "https://x.example/", Link: true}, {Text: `<tag>"`}}},
		{"javascript:alert(1)", []catcher.Run{{Text: "javascript:alert(1)"}}},
	} {
		assert.Equal(t, tc.want, catcher.Linkify(tc.in), tc.in)
	}
}

// The page shows a mail's text escaped, with only its http(s) links as
// links.
func TestCatcher_Page(t *testing.T) {
	c, err := catcher.Listen("127.0.0.1:0", catcher.Options{})
	require.NoError(t, err)
	defer c.Close()
	m, err := catcher.Parse([]byte("Subject: =?utf-8?q?caf=C3=A9_<b>?=\r\nContent-Type: text/plain\r\n\r\n" +
		"<script>alert(1)</script> https://cs.example/ui/mail/decide?t=x javascript:alert(2)\r\n"))
	require.NoError(t, err)
	assert.Equal(t, "café <b>", m.Subject)
	c.Add(m)

	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	page := string(body)
	assert.Contains(t, page, "café &lt;b&gt;")
	assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotContains(t, page, "<script>")
	assert.Contains(t, page, `<a href="https://cs.example/ui/mail/decide?t=x">`)
	assert.Equal(t, 1, strings.Count(page, "<a href="), "javascript: is no link")
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
}
