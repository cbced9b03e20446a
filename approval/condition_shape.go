package approval

import (
	"fmt"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
)

// The type checker formats and compares types while it infers them, so its
// work grows with their size, and a handful of chained macros can double a
// type's size at each step (`[m].map(a, {a: a})`): a 400-byte condition
// then takes minutes. maxTypeSize bounds the size (nodes of the type tree)
// any part of a condition may have — the types authors use, such as
// map(string, dyn) or list(string), have fewer than ten — and maxTypeWork
// the sum of these sizes over the whole condition: about 3 per comparison,
// so 2 KB of `extra_vars.a == 1 || ...` stays under it.
const (
	maxTypeSize = 16
	maxTypeWork = 1000
)

// shapeCheck computes, from the syntax of a parsed condition alone, an
// upper bound of the size of every sub-expression's type.
type shapeCheck struct {
	// work sums the bounds of every node visited.
	work int
	// scope holds the type-size bounds of the variables of the loops
	// around the current expression.
	scope []boundVar
	err   string
}

type boundVar struct {
	name string
	size int
}

// Type-size bounds of the declared variables: item and requester are
// objects whose widest field is a list(string); extra_vars and
// node_survey_data are map(string, dyn).
var declaredSize = map[string]int{
	"item": 3, "requester": 3, "extra_vars": 3, "node_survey_data": 3, "justification": 1,
}

// primitiveResult are the standard functions whose result is a scalar
// whatever their arguments.
var primitiveResult = map[string]bool{
	"_&&_": true, "_||_": true, "!_": true, "@not_strictly_false": true, "_==_": true, "_!=_": true,
	"_<_": true, "_<=_": true, "_>_": true, "_>=_": true, "@in": true, "-_": true, "_-_": true,
	"_*_": true, "_/_": true, "_%_": true, "size": true, "contains": true, "startsWith": true,
	"endsWith": true, "matches": true, "int": true, "uint": true, "double": true, "string": true,
	"bytes": true, "bool": true, "timestamp": true, "duration": true, "dyn": true,
}

// checkShape returns why e is too complex to type-check, or "".
func checkShape(e ast.Expr) string {
	switch count, depth := loops(e); {
	case count > MaxComprehensions:
		return fmt.Sprintf("it has more than %d loops (all, exists, exists_one, filter, map)", MaxComprehensions)
	case depth > MaxComprehensionNesting:
		return fmt.Sprintf("its loops (all, exists, exists_one, filter, map) nest more than %d deep", MaxComprehensionNesting)
	}
	s := &shapeCheck{}
	s.size(e)
	return s.err
}

func (s *shapeCheck) fail(format string, args ...any) int {
	if s.err == "" {
		s.err = fmt.Sprintf(format, args...)
	}
	return maxTypeSize + 1
}

// size returns an upper bound of the size of e's type and records the first
// limit e breaks.
func (s *shapeCheck) size(e ast.Expr) int {
	if s.err != "" {
		return maxTypeSize + 1
	}
	n := s.sizeOf(e)
	s.work += n
	if s.work > maxTypeWork {
		return s.fail("it is too large to check: simplify it or split it into several policies")
	}
	if n > maxTypeSize {
		return s.fail("it builds values whose type is too large to check (over %d parts); split it or compare simpler values", maxTypeSize)
	}
	return n
}

func (s *shapeCheck) sizeOf(e ast.Expr) int {
	switch e.Kind() {
	case ast.LiteralKind:
		return 1
	case ast.IdentKind:
		name := e.AsIdent()
		for i := len(s.scope) - 1; i >= 0; i-- {
			if s.scope[i].name == name {
				return s.scope[i].size
			}
		}
		if n, ok := declaredSize[name]; ok {
			return n
		}
		return 1
	case ast.SelectKind:
		sel := e.AsSelect()
		n := s.size(sel.Operand())
		if sel.IsTestOnly() {
			return 1
		}
		return n
	case ast.CallKind:
		return s.callSize(e.AsCall())
	case ast.ListKind:
		widest := 1
		for _, el := range e.AsList().Elements() {
			widest = max(widest, s.size(el))
		}
		return 1 + widest
	case ast.MapKind:
		keys, values := 1, 1
		for _, entry := range e.AsMap().Entries() {
			me := entry.AsMapEntry()
			keys = max(keys, s.size(me.Key()))
			values = max(values, s.size(me.Value()))
		}
		return 1 + keys + values
	case ast.StructKind:
		for _, f := range e.AsStruct().Fields() {
			s.size(f.AsStructField().Value())
		}
		return 3
	case ast.ComprehensionKind:
		return s.comprehensionSize(e.AsComprehension())
	}
	return 1
}

func (s *shapeCheck) callSize(call ast.CallExpr) int {
	args := call.Args()
	if call.IsMemberFunction() {
		args = append([]ast.Expr{call.Target()}, args...)
	}
	if call.FunctionName() == "matches" && len(args) == 2 && !isStringLiteral(args[1]) {
		return s.fail("the pattern of matches() must be a string literal")
	}
	sizes := make([]int, len(args))
	sum, widest := 0, 0
	for i, a := range args {
		sizes[i] = s.size(a)
		sum += sizes[i]
		widest = max(widest, sizes[i])
	}
	switch fn := call.FunctionName(); {
	case primitiveResult[fn]:
		return 1
	case fn == "_+_" || fn == "_?_:_" || fn == "_[_]":
		// Concatenation and choice keep their operands' type; an index
		// yields a part of its operand's.
		return widest
	}
	return 1 + sum
}

func (s *shapeCheck) comprehensionSize(c ast.ComprehensionExpr) int {
	rangeSize := s.size(c.IterRange())
	outer := len(s.scope)
	defer func() { s.scope = s.scope[:outer] }()
	s.scope = append(s.scope, boundVar{c.IterVar(), rangeSize})
	if c.HasIterVar2() {
		s.scope = append(s.scope, boundVar{c.IterVar2(), rangeSize})
	}
	// The accumulator's type is what its initial value and each step make
	// of it: iterate to the bound's fixed point (macros reach it at once).
	accu := s.size(c.AccuInit())
	s.scope = append(s.scope, boundVar{c.AccuVar(), accu})
	s.size(c.LoopCondition())
	for range 3 {
		step := s.size(c.LoopStep())
		if step <= accu || s.err != "" {
			return s.size(c.Result())
		}
		accu = step
		s.scope[len(s.scope)-1].size = accu
	}
	return s.fail("it builds values whose type is too large to check (over %d parts); split it or compare simpler values", maxTypeSize)
}

// loops counts e's comprehensions and how deeply they nest: a loop in
// another's body nests, one in another's range (a chain like
// `a.map(...).filter(...)`) does not.
func loops(e ast.Expr) (count, depth int) {
	var walk func(e ast.Expr, level int)
	walk = func(e ast.Expr, level int) {
		if e.Kind() == ast.ComprehensionKind {
			c := e.AsComprehension()
			count++
			depth = max(depth, level+1)
			walk(c.IterRange(), level)
			for _, body := range []ast.Expr{c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
				walk(body, level+1)
			}
			return
		}
		for _, child := range children(e) {
			walk(child, level)
		}
	}
	walk(e, 0)
	return count, depth
}

func children(e ast.Expr) []ast.Expr {
	switch e.Kind() {
	case ast.SelectKind:
		return []ast.Expr{e.AsSelect().Operand()}
	case ast.CallKind:
		call := e.AsCall()
		if call.IsMemberFunction() {
			return append([]ast.Expr{call.Target()}, call.Args()...)
		}
		return call.Args()
	case ast.ListKind:
		return e.AsList().Elements()
	case ast.MapKind:
		var out []ast.Expr
		for _, entry := range e.AsMap().Entries() {
			out = append(out, entry.AsMapEntry().Key(), entry.AsMapEntry().Value())
		}
		return out
	case ast.StructKind:
		var out []ast.Expr
		for _, f := range e.AsStruct().Fields() {
			out = append(out, f.AsStructField().Value())
		}
		return out
	}
	return nil
}

func isStringLiteral(e ast.Expr) bool {
	if e.Kind() != ast.LiteralKind {
		return false
	}
	_, ok := e.AsLiteral().(types.String)
	return ok
}
