package requests

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/countersign/countersign/awx"
)

// TemplateInfo is what Countersign needs of an AWX template to show its
// launch form and validate answers: its launch settings, its survey and,
// for workflow templates, each node's survey.
type TemplateInfo struct {
	Kind awx.TemplateKind
	ID   int64
	Name string
	// Organization is the template's AWX organization.
	Organization int64
	Launch       awx.LaunchInfo
	// Survey is the template's survey when it is enabled, else empty.
	Survey awx.Survey
	Nodes  []NodeInfo
}

// NodeInfo is a workflow node and its job template's survey, with what
// AWX shows of the node's saved prompts.
type NodeInfo struct {
	ID          int64      `json:"id"`
	Identifier  string     `json:"identifier"`
	Name        string     `json:"name"`
	JobTemplate int64      `json:"job_template"`
	Survey      awx.Survey `json:"-"`
	// ExtraData is the node's saved extra_vars, passwords shown as
	// "$encrypted$"; AskVariables is its job template's
	// ask_variables_on_launch.
	ExtraData    map[string]any `json:"-"`
	AskVariables bool           `json:"-"`
}

// NodeSurveys maps node identifiers to their surveys.
func (t *TemplateInfo) NodeSurveys() map[string]awx.Survey {
	out := map[string]awx.Survey{}
	for _, n := range t.Nodes {
		out[n.Identifier] = n.Survey
	}
	return out
}

// Templates keeps AWX's answers about templates briefly: a launch form is
// read many times while requests are written, and AWX is slow to ask.
type Templates struct {
	client *awx.Client
	ttl    time.Duration
	mu     sync.Mutex
	items  map[string]*cacheEntry
}

// cacheEntry is one template's answer. A fetch in flight is shared: later
// callers wait for it (or for their own context). Failures are kept
// briefly, so a hanging AWX answers many callers once, not once each.
type cacheEntry struct {
	done    chan struct{}
	fetched time.Time
	info    *TemplateInfo
	err     error
}

// failureTTL is how long an AWX failure is answered from the cache.
const failureTTL = 5 * time.Second

// NewTemplates is a cache of c's answers, fresh for ttl.
func NewTemplates(c *awx.Client, ttl time.Duration) *Templates {
	return &Templates{client: c, ttl: ttl, items: map[string]*cacheEntry{}}
}

// Template returns the template's information, from the cache when fresh.
func (c *Templates) Template(ctx context.Context, kind awx.TemplateKind, id int64) (*TemplateInfo, error) {
	key := fmt.Sprintf("%s/%d", kind, id)
	c.mu.Lock()
	e := c.items[key]
	if e == nil || (e.ready() && time.Since(e.fetched) > e.ttl(c.ttl)) {
		e = &cacheEntry{done: make(chan struct{})}
		c.items[key] = e
		go e.fill(c, kind, id)
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.info, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *cacheEntry) ready() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

func (e *cacheEntry) ttl(ok time.Duration) time.Duration {
	if e.err != nil {
		return failureTTL
	}
	return ok
}

// fill fetches in the background, bounded by awxTimeout: a caller giving up
// does not cancel what other callers wait for.
func (e *cacheEntry) fill(c *Templates, kind awx.TemplateKind, id int64) {
	e.info, e.err = c.fetch(context.Background(), kind, id)
	e.fetched = time.Now()
	close(e.done)
}

// awxTimeout bounds what one call may wait for AWX.
const awxTimeout = 10 * time.Second

func (c *Templates) fetch(ctx context.Context, kind awx.TemplateKind, id int64) (*TemplateInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, awxTimeout)
	defer cancel()
	info := &TemplateInfo{Kind: kind, ID: id}
	var err error
	info.Launch, err = c.client.LaunchInfo(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	info.Name = info.Launch.Template().Name
	detail, err := c.client.Template(ctx, kind, id)
	if err != nil {
		return nil, err
	}
	info.Organization = detail.Organization
	if info.Launch.SurveyEnabled {
		if info.Survey, err = c.client.Survey(ctx, kind, id); err != nil {
			return nil, err
		}
	}
	if kind != awx.WorkflowJobTemplate {
		return info, nil
	}
	nodes, err := c.client.WorkflowNodes(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		ni := NodeInfo{ID: n.ID, Identifier: n.Identifier, JobTemplate: n.UnifiedJobTemplate, ExtraData: n.ExtraData}
		if ujt := n.SummaryFields.UnifiedJobTemplate; ujt != nil {
			ni.Name = ujt.Name
			if ujt.UnifiedJobType != "job" {
				// Approval, sync and nested workflow nodes have no survey
				// Countersign can fill.
				ni.JobTemplate = 0
			}
		}
		if ni.JobTemplate != 0 {
			jt, err := c.client.Template(ctx, awx.JobTemplate, ni.JobTemplate)
			if err != nil {
				return nil, err
			}
			ni.AskVariables = jt.AskVariablesOnLaunch
			if jt.SurveyEnabled {
				if ni.Survey, err = c.client.Survey(ctx, awx.JobTemplate, ni.JobTemplate); err != nil {
					return nil, err
				}
			}
		}
		info.Nodes = append(info.Nodes, ni)
	}
	sort.Slice(info.Nodes, func(i, j int) bool { return info.Nodes[i].Identifier < info.Nodes[j].Identifier })
	return info, nil
}

// TemplateSource says what AWX says of a template.
type TemplateSource interface {
	Template(ctx context.Context, kind awx.TemplateKind, id int64) (*TemplateInfo, error)
}

// TemplateError turns an AWX failure about template kind/id into the
// service's error: AWX unreachable, or refusing Countersign's credentials,
// is *Unavailable; AWX refusing the template (gone, the token may not see
// it) is *TemplateRefused.
func TemplateError(kind awx.TemplateKind, id int64, err error) error {
	if awx.IsTransient(err) || errors.Is(err, context.DeadlineExceeded) {
		return unavailable("AWX is unavailable; try again shortly.", err)
	}
	var apiErr *awx.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
		return unavailable("AWX refuses Countersign's credentials (AWX_TOKEN); tell an administrator.", err)
	}
	if errors.As(err, &apiErr) {
		return &TemplateRefused{Message: fmt.Sprintf("AWX refused to describe %s %d: %s", kind, id, apiErr.Message()), Cause: err}
	}
	return unavailable("AWX answered something Countersign could not read; try again shortly.", err)
}
