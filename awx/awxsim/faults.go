package awxsim

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// FaultKind says what a Fault does to the requests it hits.
type FaultKind string

// Fault kinds.
const (
	// FaultDelay waits Delay, then serves the request normally. If the
	// client gives up meanwhile, the request is not performed.
	FaultDelay FaultKind = "delay"
	// FaultStatus answers Status (default 503) without performing the
	// request: an nginx HTML page for 502, 503 and 504, as a proxy in front
	// of AWX would send, and a JSON {"detail": ...} otherwise.
	FaultStatus FaultKind = "status"
	// FaultReset closes the connection without answering and without
	// performing the request. On TCP the close is a reset (SO_LINGER 0).
	FaultReset FaultKind = "reset"
	// FaultDropResponse performs the request for real (a launch creates its
	// job), then closes the connection without writing the response: the
	// lost-response case that makes launching exactly once hard.
	FaultDropResponse FaultKind = "drop_response"
)

// Fault disturbs matching requests. With HTTP/2, where a connection cannot
// be taken over, reset and drop_response reset the request's stream
// instead. Note that Go's http.Transport silently retries idempotent
// requests (GET) that fail on a reused connection, so such a request may
// consume more than one hit.
type Fault struct {
	// Method matches the request method, case-insensitively; "" matches any.
	Method string
	// Path matches requests whose path starts with it, e.g.
	// "/api/v2/job_templates/7/launch/"; "" matches any.
	Path string
	Kind FaultKind
	// Delay is waited before the fault acts, for every kind. In JSON it is a
	// Go duration string such as "1.5s".
	Delay time.Duration
	// Status is the answer of FaultStatus; 0 means 503.
	Status int
	// Times is how many matching requests the fault hits before it removes
	// itself; 0 means until removed.
	Times int
}

// faultJSON is Fault's JSON form.
type faultJSON struct {
	Method string    `json:"method,omitempty"`
	Path   string    `json:"path,omitempty"`
	Kind   FaultKind `json:"kind"`
	Delay  string    `json:"delay,omitempty"`
	Status int       `json:"status,omitempty"`
	Times  int       `json:"times,omitempty"`
}

// MarshalJSON writes Delay as a Go duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	fj := faultJSON{Method: f.Method, Path: f.Path, Kind: f.Kind, Status: f.Status, Times: f.Times}
	if f.Delay != 0 {
		fj.Delay = f.Delay.String()
	}
	return json.Marshal(fj)
}

// UnmarshalJSON reads Delay as a Go duration string and checks the fault.
func (f *Fault) UnmarshalJSON(data []byte) error {
	var fj faultJSON
	if err := json.Unmarshal(data, &fj); err != nil {
		return err
	}
	out, err := fj.fault()
	if err != nil {
		return err
	}
	*f = out
	return nil
}

func (fj faultJSON) fault() (Fault, error) {
	f := Fault{Method: fj.Method, Path: fj.Path, Kind: fj.Kind, Status: fj.Status, Times: fj.Times}
	if fj.Delay != "" {
		d, err := time.ParseDuration(fj.Delay)
		if err != nil {
			return Fault{}, fmt.Errorf("delay: %w", err)
		}
		f.Delay = d
	}
	return f, f.validate()
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultDelay, FaultStatus, FaultReset, FaultDropResponse:
	default:
		return fmt.Errorf("unknown fault kind %q (want delay, status, reset or drop_response)", f.Kind)
	}
	switch {
	case f.Delay < 0:
		return errors.New("delay must not be negative")
	case f.Times < 0:
		return errors.New("times must not be negative")
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		return fmt.Errorf("status %d is not an HTTP status", f.Status)
	}
	return nil
}

type activeFault struct {
	id        int
	fault     Fault
	remaining int // hits left when fault.Times > 0
	hits      int
}

func (af *activeFault) matches(r *http.Request) bool {
	return (af.fault.Method == "" || strings.EqualFold(af.fault.Method, r.Method)) &&
		strings.HasPrefix(r.URL.Path, af.fault.Path)
}

// InjectFault adds f after the faults already present and returns its id.
// A request is hit by the first matching fault only. It panics on an
// invalid fault (unknown kind, negative Delay or Times, impossible
// Status), which is a mistake in the calling test.
func (s *Server) InjectFault(f Fault) int {
	if err := f.validate(); err != nil {
		panic("awxsim: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	af := &activeFault{id: s.nextFault, fault: f, remaining: f.Times}
	s.nextFault++
	s.faults = append(s.faults, af)
	return af.id
}

// RemoveFault removes fault id; an unknown id is ignored.
func (s *Server) RemoveFault(id int) { s.removeFault(id) }

func (s *Server) removeFault(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, af := range s.faults {
		if af.id == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// RequestCount is how many requests with method ("" for any) reached a path
// starting with pathPrefix, including those a fault hit and those refused
// for authentication. Control requests under /_sim/ are not counted.
func (s *Server) RequestCount(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.requests {
		if (method == "" || strings.EqualFold(method, k.method)) && strings.HasPrefix(k.path, pathPrefix) {
			n += c
		}
	}
	return n
}

// admit counts r and takes one hit of the first fault matching it.
func (s *Server) admit(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[requestKey{r.Method, r.URL.Path}]++
	for i, af := range s.faults {
		if !af.matches(r) {
			continue
		}
		af.hits++
		if af.fault.Times > 0 {
			af.remaining--
			if af.remaining == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		f := af.fault
		return &f
	}
	return nil
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.Delay > 0 {
		// net/http only notices a client that went away once the request
		// body has been read, so read it before waiting.
		raw, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		timer := time.NewTimer(f.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
	}
	switch f.Kind {
	case FaultDelay:
		s.serve(w, r)
	case FaultStatus:
		writeFaultStatus(w, f.Status)
	case FaultReset:
		abortConnection(w, true)
	case FaultDropResponse:
		s.serve(&discardWriter{header: http.Header{}}, r)
		abortConnection(w, false)
	}
}

func writeFaultStatus(w http.ResponseWriter, status int) {
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if reason, ok := map[int]string{
		http.StatusBadGateway:         "Bad Gateway",
		http.StatusServiceUnavailable: "Service Temporarily Unavailable",
		http.StatusGatewayTimeout:     "Gateway Time-out",
	}[status]; ok {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			status, reason, status, reason)
		return
	}
	msg := http.StatusText(status) + "."
	if status == http.StatusInternalServerError {
		msg = "A server error has occurred."
	}
	writeDetail(w, status, msg)
}

// abortConnection closes the request's connection without a response. A
// reset sets SO_LINGER 0 so the peer gets RST instead of FIN.
func abortConnection(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2: this resets the stream.
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		// Closing the TLS layer would send close_notify first.
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

// discardWriter swallows the response of a request whose response is to be
// lost.
type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// Control endpoints, for processes that cannot call the Go API.

func (s *Server) simPostFault(w http.ResponseWriter, r *http.Request) {
	raw, aerr := readBody(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var fj faultJSON
	if err := dec.Decode(&fj); err != nil {
		writeDetail(w, http.StatusBadRequest, "invalid fault: "+err.Error())
		return
	}
	f, err := fj.fault()
	if err != nil {
		writeDetail(w, http.StatusBadRequest, "invalid fault: "+err.Error())
		return
	}
	id := s.InjectFault(f)
	writeJSON(w, http.StatusCreated, faultRepr(id, f, 0, f.Times))
}

func faultRepr(id int, f Fault, hits, remaining int) map[string]any {
	m := map[string]any{}
	raw, _ := json.Marshal(f)
	_ = json.Unmarshal(raw, &m)
	m["id"], m["hits"] = id, hits
	if f.Times > 0 {
		m["remaining"] = remaining
	}
	return m
}

func (s *Server) simListFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]any, 0, len(s.faults))
	for _, af := range s.faults {
		out = append(out, faultRepr(af.id, af.fault, af.hits, af.remaining))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) simClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) simDeleteFault(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok || !s.removeFault(int(id)) {
		notFound().write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) simListJobs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Jobs())
}

// simSetJobStatus is SetJobStatus over HTTP: POST {"status", "explanation"}.
// Job ids are unique across kinds, so the path needs no kind.
func (s *Server) simSetJobStatus(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	body, aerr := readObject(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	status, _ := body["status"].(string)
	explanation, _ := body["explanation"].(string)
	s.mu.Lock()
	j := s.jobByID[id]
	s.mu.Unlock()
	if j == nil {
		notFound().write(w)
		return
	}
	if err := s.SetJobStatus(j.kind, id, status, explanation); err != nil {
		writeDetail(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
