package storefake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// errNotJSON is input that jsonb refuses.
var errNotJSON = errors.New("invalid input syntax for type json")

// jsonb returns raw as PostgreSQL's jsonb prints it back, so a request's
// extra_vars read from the fake equal those read from the store.
func jsonb(raw []byte) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, errNotJSON
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errNotJSON
	}
	var b strings.Builder
	writeJSONB(&b, v)
	return []byte(b.String()), nil
}

// writeJSONB prints v as jsonb does: object keys by length then bytes
// (the last of duplicate keys wins, which decoding into a map does),
// ", " and ": " between items, numbers as numeric prints them.
func writeJSONB(b *strings.Builder, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y string) int { return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y)) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSONB(b, v[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONB(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJSONString(b, v)
	case json.Number:
		b.WriteString(numeric(string(v)))
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	}
}

// writeJSONString escapes like PostgreSQL's escape_json: quotes,
// backslashes and control characters only.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				const hex = "0123456789abcdef"
				b.WriteString(`\u00`)
				b.WriteByte(hex[r>>4])
				b.WriteByte(hex[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// numeric prints a JSON number as PostgreSQL's numeric does: no exponent,
// as many decimals as the literal implies, no sign on zero.
func numeric(lit string) string {
	neg := strings.HasPrefix(lit, "-")
	lit = strings.TrimPrefix(lit, "-")
	mant, exp := lit, 0
	if i := strings.IndexAny(lit, "eE"); i >= 0 {
		mant = lit[:i]
		for _, c := range strings.TrimLeft(lit[i+1:], "+-") {
			exp = exp*10 + int(c-'0')
		}
		if strings.HasPrefix(lit[i+1:], "-") {
			exp = -exp
		}
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	point := len(intPart) + exp
	scale := max(len(frac)-exp, 0)
	switch {
	case point <= 0:
		digits = strings.Repeat("0", 1-point) + digits
		point = 1
	case point > len(digits):
		digits += strings.Repeat("0", point-len(digits))
	}
	whole := strings.TrimLeft(digits[:point], "0")
	if whole == "" {
		whole = "0"
	}
	fracDigits := digits[point:]
	if len(fracDigits) < scale {
		fracDigits += strings.Repeat("0", scale-len(fracDigits))
	}
	fracDigits = fracDigits[:scale]
	out := whole
	if scale > 0 {
		out += "." + fracDigits
	}
	if neg && strings.Trim(whole+fracDigits, "0") != "" {
		out = "-" + out
	}
	return out
}
