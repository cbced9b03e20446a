package survey

import (
	"bytes"
	"encoding/json"
	"html"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/countersign/countersign/awx/pyrepr"
)

// minLooseRunes is the length from which a password is masked wherever it
// appears. A shorter or blank one ("x", "   ") is masked only where AWX
// puts a value: replacing every "1" or every space of a message would
// garble it, and such a password shows up nowhere else.
const minLooseRunes = 4

// Masker hides a request's password answers in text that comes back from
// AWX: AWX quotes the values it refuses ("'db_password' value hunter2 is too
// small ..."), as Python's str() (the value as it is) or, inside lists, its
// repr(), and echoes bodies as JSON. Every occurrence of one of these forms
// becomes Encrypted, under two rules:
//
//   - A password of minLooseRunes runes or more (not counting surrounding
//     whitespace) is masked wherever one of its forms appears, also with its
//     whitespace runs collapsed to single spaces.
//   - A shorter or blank password is masked only as a whole value: between
//     matching quotes, in AWX's "value X is too ..." and "Value X for '...'"
//     slots, or when it is the whole text.
//
// A text that was cut (Mask's cut), or that holds an ellipsis ("…" or
// "...", how a cut is shown), may end in the first part of a password: that
// prefix is masked too, for a short password only where a value starts
// (after a quote or "value "). Placeholders already in the text are left
// alone, so masking is idempotent. A nil *Masker masks nothing.
type Masker struct {
	forms []maskForm
}

// maskForm is one way a password can be written, with its KMP failure
// table.
type maskForm struct {
	text  string
	loose bool
	fail  []int
}

// NewMasker returns a Masker for the given password answers. Empty answers
// and Encrypted (AWX applies the stored default; nothing to hide) are
// skipped; answers that are not strings are masked as AWX renders them and
// by each string inside them.
func NewMasker(answers ...any) *Masker {
	m := &Masker{}
	seen := map[string]bool{}
	add := func(text string, loose bool) {
		if text == "" || seen[text] {
			return
		}
		seen[text] = true
		m.forms = append(m.forms, maskForm{text: text, loose: loose, fail: failure(text)})
	}
	var addValue func(v any)
	addValue = func(v any) {
		s, isString := v.(string)
		if isString && (s == "" || s == Encrypted) {
			return
		}
		if !isString {
			s = pyrepr.Repr(v)
		}
		loose := utf8.RuneCountInString(strings.TrimSpace(s)) >= minLooseRunes
		for _, f := range renderings(v) {
			add(f, loose)
		}
		if collapsed := strings.Join(strings.Fields(s), " "); loose && utf8.RuneCountInString(collapsed) >= minLooseRunes {
			add(collapsed, true)
		}
		switch x := v.(type) {
		case []any:
			for _, item := range x {
				addValue(item)
			}
		case map[string]any:
			for _, item := range x {
				addValue(item)
			}
		}
	}
	for _, a := range answers {
		addValue(a)
	}
	return m
}

// renderings are the ways AWX (Python), JSON encoders and HTML pages write
// v: for a string its text, the inside of its Python repr() and of its JSON
// string (Go's, with and without HTML escapes, and Python's ASCII-only
// one), and its HTML-escaped text (Go's and Django's); for anything else its
// Python repr() and its JSON.
func renderings(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s, unquote(pyrepr.Quote(s)), unquote(goJSON(s, false)), unquote(goJSON(s, true)), unquote(pyrepr.JSONString(s)),
			html.EscapeString(s), djangoEscape.Replace(s)}
	}
	out := []string{pyrepr.Repr(v)}
	if raw, err := json.Marshal(v); err == nil {
		out = append(out, string(raw))
	}
	return out
}

// djangoEscape is Django's escape filter, which AWX's HTML pages use.
var djangoEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")

func unquote(s string) string {
	if len(s) >= 2 {
		return s[1 : len(s)-1]
	}
	return s
}

func goJSON(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Mask returns text with every password answer replaced by Encrypted under
// the rules of Masker. cut says that text may end in the middle of a
// password (it was cut to a length): a trailing prefix of one is masked
// too.
func (m *Masker) Mask(text string, cut bool) string {
	if m == nil || len(m.forms) == 0 || text == "" {
		return text
	}
	// Where a cut may have left the first part of a password: the end of a
	// cut text, and every ellipsis.
	var cuts []int
	for i := 0; i < len(text); i++ {
		if strings.HasPrefix(text[i:], "…") || strings.HasPrefix(text[i:], "...") {
			cuts = append(cuts, i)
		}
	}
	if cut {
		cuts = append(cuts, len(text))
	}
	var spans [][2]int
	for _, f := range m.forms {
		spans = f.find(text, cuts, spans)
	}
	if len(spans) == 0 {
		return text
	}
	return replaceSpans(text, spans)
}

// find appends the spans of text to mask for f: its occurrences (any, or
// whole values only) and its proper prefixes that end at a cut.
func (f maskForm) find(text string, cuts []int, spans [][2]int) [][2]int {
	n := len(f.text)
	k, next := 0, 0 // KMP state: bytes of f.text matched; index into cuts
	for i := 0; i <= len(text); i++ {
		for next < len(cuts) && cuts[next] == i {
			if k > 0 && k < n && (f.loose || valueStarts(text, i-k)) {
				spans = append(spans, [2]int{i - k, i})
			}
			next++
		}
		if i == len(text) {
			break
		}
		for k > 0 && text[i] != f.text[k] {
			k = f.fail[k-1]
		}
		if text[i] == f.text[k] {
			k++
		}
		if k == n {
			start, end := i+1-n, i+1
			if f.loose || wholeValue(text, start, end) {
				spans = append(spans, [2]int{start, end})
			}
			k = f.fail[n-1]
		}
	}
	return spans
}

// failure is KMP's failure function of s: for each prefix, the length of
// its longest proper prefix that is also its suffix.
func failure(s string) []int {
	fail := make([]int, len(s))
	for i, k := 1, 0; i < len(s); i++ {
		for k > 0 && s[i] != s[k] {
			k = fail[k-1]
		}
		if s[i] == s[k] {
			k++
		}
		fail[i] = k
	}
	return fail
}

// AWX's messages put a value between these (survey.check shows them all).
var (
	valueBefore = []string{"value ", "Value "}
	valueAfter  = []string{" is too ", " for '"}
)

// wholeValue reports whether text[start:end] stands as a whole value: the
// whole text, between matching quotes, or in one of AWX's value slots.
func wholeValue(text string, start, end int) bool {
	if start == 0 && end == len(text) {
		return true
	}
	if start > 0 && end < len(text) && text[start-1] == text[end] && strings.ContainsRune(`'"`, rune(text[end])) {
		return true
	}
	return valueStarts(text, start) && hasAnyPrefix(text[end:], valueAfter)
}

// valueStarts reports whether a value starts at text[start]: after a quote
// or after "value ".
func valueStarts(text string, start int) bool {
	if start > 0 && strings.ContainsRune(`'"`, rune(text[start-1])) {
		return true
	}
	for _, b := range valueBefore {
		if strings.HasSuffix(text[:start], b) {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// replaceSpans replaces the union of spans with Encrypted, one placeholder
// per connected run. Spans inside a placeholder already in text are
// dropped; spans that reach into one swallow it whole.
func replaceSpans(text string, spans [][2]int) string {
	var placeholders [][2]int
	for i := 0; ; {
		j := strings.Index(text[i:], Encrypted)
		if j < 0 {
			break
		}
		placeholders = append(placeholders, [2]int{i + j, i + j + len(Encrypted)})
		i += j + len(Encrypted)
	}
	kept := spans[:0]
	for _, s := range spans {
		inside := false
		for _, p := range placeholders {
			if s[0] >= p[0] && s[1] <= p[1] {
				inside = true
				break
			}
			if s[0] < p[1] && s[1] > p[0] { // overlaps: take the placeholder with it
				s[0], s[1] = min(s[0], p[0]), max(s[1], p[1])
			}
		}
		if !inside {
			kept = append(kept, s)
		}
	}
	if len(kept) == 0 {
		return text
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i][0] < kept[j][0] })
	var b strings.Builder
	pos := 0
	for i := 0; i < len(kept); {
		start, end := kept[i][0], kept[i][1]
		for i++; i < len(kept) && kept[i][0] <= end; i++ {
			end = max(end, kept[i][1])
		}
		b.WriteString(text[pos:start])
		b.WriteString(Encrypted)
		pos = end
	}
	b.WriteString(text[pos:])
	return b.String()
}
