package approval

import (
	"regexp"
	"regexp/syntax"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/functions"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Regular expressions run in time proportional to the text's length times
// the pattern's compiled size, and a call is charged only once it has run:
// a pattern is bounded when the condition is saved (maxRegexProgram
// instructions) and each match before it runs (maxMatchWork, the text's
// bytes times the pattern's instructions; a longer text fails closed).
const (
	maxRegexProgram = 100
	maxMatchWork    = 100_000
)

const errTooLongToMatch = "the text is too long to match against this pattern"

type pattern struct {
	re   *regexp.Regexp
	size int
}

// matchesOverride replaces CEL's matches() in the program of a condition
// whose patterns (literals: checkShape insists) are those in e: each is
// compiled once, here, and every match is bounded before it runs.
func matchesOverride(e ast.Expr) (cel.ProgramOption, error) {
	patterns := map[string]pattern{}
	var walk func(e ast.Expr) error
	walk = func(e ast.Expr) error {
		if e.Kind() == ast.CallKind && e.AsCall().FunctionName() == "matches" {
			args := children(e)
			if p := args[len(args)-1]; isStringLiteral(p) {
				text := string(p.AsLiteral().(types.String))
				re, err := regexp.Compile(text)
				if err != nil {
					return err
				}
				parsed, err := syntax.Parse(text, syntax.Perl)
				if err != nil {
					return err
				}
				prog, err := syntax.Compile(parsed.Simplify())
				if err != nil {
					return err
				}
				patterns[text] = pattern{re: re, size: len(prog.Inst)}
			}
		}
		if e.Kind() == ast.ComprehensionKind {
			c := e.AsComprehension()
			for _, part := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
				if err := walk(part); err != nil {
					return err
				}
			}
		}
		for _, child := range children(e) {
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(e); err != nil {
		return nil, err
	}
	match := func(text, pat ref.Val) ref.Val {
		s, ok := text.(types.String)
		p, ok2 := pat.(types.String)
		if !ok || !ok2 {
			return types.NoSuchOverloadErr()
		}
		compiled, found := patterns[string(p)]
		if !found {
			return types.NoSuchOverloadErr()
		}
		if len(s)*compiled.size > maxMatchWork {
			return types.NewErrFromString(errTooLongToMatch)
		}
		return types.Bool(compiled.re.MatchString(string(s)))
	}
	return cel.Functions(
		&functions.Overload{Operator: overloads.Matches, Binary: match},
		&functions.Overload{Operator: overloads.MatchesString, Binary: match},
	), nil
}
