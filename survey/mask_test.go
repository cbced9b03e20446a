package survey_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/countersign/countersign/survey"
)

func TestMasker(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []any
		text    string
		cut     bool
		want    string
	}{
		{"a long password, anywhere", []any{"hunter22"},
			"'pw' value hunter22 is too small; echo: hunter22hunter22!", false,
			"'pw' value $encrypted$ is too small; echo: $encrypted$!"},
		{"overlapping occurrences", []any{"abab"}, "xabababx", false, "x$encrypted$x"},
		{"repeated spaces, as sent", []any{"correct  horse"}, "value correct  horse is too small", false,
			"value $encrypted$ is too small"},
		{"repeated spaces, collapsed", []any{"correct  horse"}, "saw correct horse here", false,
			"saw $encrypted$ here"},
		{"only spaces, in AWX's slot", []any{"   "}, "'pw' value     is too small (length is 3 must be at least 8).", false,
			"'pw' value $encrypted$ is too small (length is 3 must be at least 8)."},
		{"only spaces, elsewhere", []any{"   "}, "a   b", false, "a   b"},
		{"one character, in AWX's slots", []any{"1"},
			"'pw' value 1 is too small (length is 1 must be at least 8).; Value 1 for 'pw' expected to be one of ['1'].", false,
			"'pw' value $encrypted$ is too small (length is 1 must be at least 8).; Value $encrypted$ for 'pw' expected to be one of ['$encrypted$']."},
		{"one character, elsewhere", []any{"e"}, "expected to be one of the values", false, "expected to be one of the values"},
		{"three characters, quoted or whole", []any{"abc"}, `"abc" 'abc' abcd xabc`, false, `"$encrypted$" '$encrypted$' abcd xabc`},
		{"three characters, the whole text", []any{"abc"}, "abc", false, "$encrypted$"},
		{"quotes must match", []any{"abc"}, `'abc"`, false, `'abc"`},
		{"Python's repr", []any{"tab\there\\"}, `Value ['tab\there\\'] for 'pw'`, false, `Value ['$encrypted$'] for 'pw'`},
		{"Python's json.dumps", []any{"pässwörd"}, `{"pw": "p\u00e4ssw\u00f6rd"}`, false, `{"pw": "$encrypted$"}`},
		{"Go's JSON", []any{"a<b>&c"}, `{"pw":"a\u003cb\u003e\u0026c"}`, false, `{"pw":"$encrypted$"}`},
		{"HTML", []any{`a<b>"c'`}, `<td>a&lt;b&gt;&quot;c&#x27;</td><td>a&lt;b&gt;&#34;c&#39;</td>`, false,
			`<td>$encrypted$</td><td>$encrypted$</td>`},
		{"a number", []any{json.Number("31415926535")}, "Value 31415926535 for 'pw' expected to be a string.", false,
			"Value $encrypted$ for 'pw' expected to be a string."},
		{"a list and its strings", []any{[]any{"first-secret", "second-secret"}},
			"Value ['first-secret', 'second-secret'] for 'pw'; second-secret", false,
			"Value $encrypted$ for 'pw'; $encrypted$"},
		{"cut inside a long password", []any{"hunter22"}, "'pw' value hunt", true, "'pw' value $encrypted$"},
		{"not cut: a prefix stays", []any{"hunter22"}, "'pw' value hunt", false, "'pw' value hunt"},
		{"cut by an ellipsis", []any{"hunter22"}, "'pw' value hunt... and more …hu", false, "'pw' value $encrypted$... and more …hu"},
		{"cut inside a short password after a value's start", []any{"ab1"}, "value a", true, "value $encrypted$"},
		{"cut: a short password's prefix elsewhere stays", []any{"ab1"}, "the data", true, "the data"},
		{"placeholders are kept", []any{"crypt"}, "$encrypted$ crypt", false, "$encrypted$ $encrypted$"},
		{"a mask reaching into a placeholder swallows it", []any{"xx$encr"}, "a xx$encrypted$ b", false, "a $encrypted$ b"},
		{"adjacent masks merge", []any{"abcd", "efgh"}, "abcdefgh!", false, "$encrypted$!"},
		{"Encrypted and empty answers hide nothing", []any{survey.Encrypted, ""}, "value $encrypted$ is too small", false,
			"value $encrypted$ is too small"},
		{"no answers", nil, "anything", true, "anything"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := survey.NewMasker(tc.answers...)
			got := m.Mask(tc.text, tc.cut)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, m.Mask(got, tc.cut), "masking is idempotent")
		})
	}
	var none *survey.Masker
	assert.Equal(t, "x", none.Mask("x", true))
}

// FuzzMasker checks the masker's promise on any text: the password never
// remains, and masking twice changes nothing.
func FuzzMasker(f *testing.F) {
	f.Add("hunter22", "value hunter22 is too small", false)
	f.Add("ab", "'ab' and ab", true)
	f.Add("  x ", "value   x  is too small", false)
	f.Fuzz(func(t *testing.T, secret, text string, cut bool) {
		m := survey.NewMasker(secret)
		got := m.Mask(text, cut)
		if len(strings.TrimSpace(secret)) >= 4 && secret != survey.Encrypted && !strings.Contains(survey.Encrypted, secret) {
			if strings.Contains(got, secret) {
				t.Fatalf("%q still in %q", secret, got)
			}
		}
		if again := m.Mask(got, cut); again != got {
			t.Fatalf("not idempotent: %q then %q", got, again)
		}
	})
}

// BenchmarkMasker_Mask64KiB masks the largest text AWX's errors can bring
// (a 64 KiB body) for three passwords.
func BenchmarkMasker_Mask64KiB(b *testing.B) {
	m := survey.NewMasker("correct  horse battery staple", "hunter22", "x")
	text := strings.Repeat("'pw' value hunter22 is too small; value x is too large; …correct horse ", 900)[:64<<10]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		m.Mask(text, true)
	}
}
