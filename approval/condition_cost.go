package approval

import (
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// callCost charges a call by the size of what it works on.
//
// CEL's own cost model knows a call's price from the overload the checker
// chose; survey answers are dyn, so `extra_vars.a == extra_vars.b` or
// `x in extra_vars.list` is dispatched at run time and would cost 1 however
// long the lists are. Here every call costs one plus the size of its
// arguments, followed to the bottom (an element of a list or map counts
// one, a string one per ten bytes), except calls known to take constant
// time; matches and contains cost the product of their operands' sizes.
// Overcharging only makes a condition fail closed sooner.
type callCost struct{}

// constantCalls take the same time whatever their arguments' size.
var constantCalls = map[string]bool{
	"size": true, "_[_]": true, "_?_:_": true, "_&&_": true, "_||_": true, "!_": true,
	"@not_strictly_false": true, "dyn": true, "type": true, "-_": true,
}

// CallCost implements cost.ActualCostEstimator.
func (callCost) CallCost(function, _ string, args []ref.Val, _ ref.Val) *uint64 {
	var c uint64 = 1
	switch {
	case constantCalls[function]:
	case function == "@in" && len(args) == 2:
		if _, isMap := args[1].(traits.Mapper); isMap {
			c += weight(args[0])
		} else {
			c += weight(args[0]) * weight(args[1])
		}
	case function == "matches" && len(args) == 2:
		// The pattern's length stands for its compiled size.
		c += weight(args[0]) * uint64(1+len(stringOf(args[1])))
	case function == "contains" && len(args) == 2:
		c += weight(args[0]) * weight(args[1])
	default:
		for _, a := range args {
			c += weight(a)
		}
	}
	return &c
}

func stringOf(v ref.Val) string {
	s, _ := v.(types.String)
	return string(s)
}

// weight is v's size as callCost counts it, capped at MaxConditionCost+1:
// beyond that the evaluation stops anyway, so counting further is waste.
func weight(v ref.Val) uint64 {
	budget := uint64(MaxConditionCost + 1)
	var walk func(v ref.Val) uint64
	walk = func(v ref.Val) uint64 {
		switch x := v.(type) {
		case types.String:
			return 1 + uint64(len(x))/10
		case types.Bytes:
			return 1 + uint64(len(x))/10
		case traits.Lister:
			n := uint64(1)
			for it := x.Iterator(); it.HasNext() == types.True && n <= budget; {
				n += walk(it.Next())
			}
			return n
		case traits.Mapper:
			n := uint64(1)
			for it := x.Iterator(); it.HasNext() == types.True && n <= budget; {
				k := it.Next()
				n += walk(k) + walk(x.Get(k))
			}
			return n
		}
		return 1
	}
	return min(walk(v), budget)
}
