package openapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// Gaps are the differences between the routes a server serves and the
// operations its document describes.
type Gaps struct {
	// Undocumented are served routes no operation describes.
	Undocumented []Route
	// Unserved are operations no served route answers.
	Unserved []Route
}

// Err is nil when there are no gaps, and otherwise lists them all.
func (g Gaps) Err() error {
	if len(g.Undocumented) == 0 && len(g.Unserved) == 0 {
		return nil
	}
	var b strings.Builder
	if len(g.Undocumented) > 0 {
		fmt.Fprintf(&b, "served but not documented: %s", joinRoutes(g.Undocumented))
	}
	if len(g.Unserved) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "documented but not served: %s", joinRoutes(g.Unserved))
	}
	return fmt.Errorf("openapi: %s", b.String())
}

// Coverage compares the routes gin serves (gin.Engine.Routes) with ops,
// route by route: same method, same gin path, parameter names included.
// Served routes for which exclude returns true, such as the portal's pages
// and /metrics, are not expected in the document; exclude may be nil.
// Both lists of the result are sorted by path, then method.
func Coverage(served gin.RoutesInfo, ops []Operation, exclude func(Route) bool) Gaps {
	documented := map[Route]bool{}
	for _, op := range ops {
		documented[op.Route()] = true
	}
	servedSet := map[Route]bool{}
	var gaps Gaps
	for _, info := range served {
		r := Route{Method: info.Method, Path: info.Path}
		servedSet[r] = true
		if exclude != nil && exclude(r) {
			continue
		}
		if !documented[r] {
			gaps.Undocumented = append(gaps.Undocumented, r)
		}
	}
	for _, op := range ops {
		if !servedSet[op.Route()] {
			gaps.Unserved = append(gaps.Unserved, op.Route())
		}
	}
	sortRoutes(gaps.Undocumented)
	sortRoutes(gaps.Unserved)
	return gaps
}

func sortRoutes(routes []Route) {
	slices.SortFunc(routes, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
}

func joinRoutes(routes []Route) string {
	parts := make([]string, len(routes))
	for i, r := range routes {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}
