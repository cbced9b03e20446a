package awxsim

import (
	"fmt"
	"sort"
	"time"
)

// State is what a Server remembers of its jobs and labels, in a form that
// survives JSON, so that a simulator can be stopped and started again
// without forgetting the jobs its clients follow. Templates are not part of
// it: they come from the inventory.
type State struct {
	Jobs   []JobState   `json:"jobs"`
	Labels []LabelState `json:"labels"`
}

// JobState is one job of a State.
type JobState struct {
	ID          int64          `json:"id"`
	Kind        Kind           `json:"kind"`
	Template    int64          `json:"template"`
	Created     time.Time      `json:"created"`
	PendingFor  time.Duration  `json:"pending_for"`
	Duration    time.Duration  `json:"duration"`
	Outcome     string         `json:"outcome"`
	Explanation string         `json:"explanation"`
	ExtraVars   map[string]any `json:"extra_vars"`
	Labels      []int64        `json:"labels"`
	Ignored     map[string]any `json:"ignored"`
	CreatedBy   string         `json:"created_by"`
	CancelAt    *time.Time     `json:"cancel_at,omitempty"`
	Forced      *ForcedState   `json:"forced,omitempty"`
}

// ForcedState is an outcome imposed by SetJobStatus.
type ForcedState struct {
	At          time.Time `json:"at"`
	Status      string    `json:"status"`
	Explanation string    `json:"explanation"`
}

// LabelState is one label of a State.
type LabelState struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Organization int64     `json:"organization"`
	Created      time.Time `json:"created"`
}

// State returns every job and label of the server. Password answers are
// not in it: jobs keep them as "$encrypted$" only.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Jobs: make([]JobState, 0, len(s.jobs)), Labels: make([]LabelState, 0, len(s.labels))}
	for _, l := range s.labels {
		st.Labels = append(st.Labels, LabelState{ID: l.id, Name: l.name, Organization: l.organization, Created: l.created})
	}
	for _, j := range s.jobs {
		js := JobState{ID: j.id, Kind: j.kind, Template: j.tmpl.id, Created: j.created, PendingFor: j.pendingFor,
			Duration: j.duration, Outcome: j.outcome, Explanation: j.explanation, ExtraVars: j.extraVars,
			Ignored: j.ignored, CreatedBy: j.createdBy, CancelAt: j.cancelAt}
		for _, l := range j.labels {
			js.Labels = append(js.Labels, l.id)
		}
		if j.forced != nil {
			js.Forced = &ForcedState{At: j.forced.at, Status: j.forced.status, Explanation: j.forced.explanation}
		}
		st.Jobs = append(st.Jobs, js)
	}
	return st
}

// Restore loads st into a server that has no jobs or labels yet. Jobs go
// on from where they were, by the clock: one that would have ended while
// the simulator was stopped has ended. New jobs and labels get ids past the
// restored ones. A job of a template the inventory lacks is an error, and
// nothing is restored.
func (s *Server) Restore(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.jobs) > 0 || len(s.labels) > 0 {
		return fmt.Errorf("restore: the simulator already has jobs or labels")
	}
	labels := map[int64]*label{}
	for _, ls := range st.Labels {
		labels[ls.ID] = &label{id: ls.ID, name: ls.Name, organization: ls.Organization, created: ls.Created}
	}
	jobs := make([]*job, 0, len(st.Jobs))
	for _, js := range st.Jobs {
		templates := s.jts
		if js.Kind == KindWorkflowJob {
			templates = s.wfjts
		}
		t := templates[js.Template]
		if t == nil {
			return fmt.Errorf("restore: job %d is of %s template %d, which the inventory lacks", js.ID, js.Kind, js.Template)
		}
		j := &job{id: js.ID, kind: js.Kind, tmpl: t, created: js.Created, pendingFor: js.PendingFor, duration: js.Duration,
			outcome: js.Outcome, explanation: js.Explanation, extraVars: js.ExtraVars, ignored: js.Ignored,
			createdBy: js.CreatedBy, cancelAt: js.CancelAt}
		if j.extraVars == nil {
			j.extraVars = map[string]any{}
		}
		for _, id := range js.Labels {
			l := labels[id]
			if l == nil {
				return fmt.Errorf("restore: job %d has label %d, which the state lacks", js.ID, id)
			}
			j.labels = append(j.labels, l)
		}
		if js.Forced != nil {
			j.forced = &forcedEnd{at: js.Forced.At, status: js.Forced.Status, explanation: js.Forced.Explanation}
		}
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	for _, j := range jobs {
		s.jobs = append(s.jobs, j)
		s.jobByID[j.id] = j
		s.nextJobID = max(s.nextJobID, j.id+1)
	}
	for _, ls := range st.Labels {
		s.labels = append(s.labels, labels[ls.ID])
		s.nextLabel = max(s.nextLabel, ls.ID+1)
	}
	sort.Slice(s.labels, func(a, b int) bool { return s.labels[a].id < s.labels[b].id })
	return nil
}
