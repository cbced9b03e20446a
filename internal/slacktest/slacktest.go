// Package slacktest is a local stand-in for Slack in tests, written from
// Slack's published documents: the Web API methods Countersign calls
// (apps.connections.open, conversations.open, chat.postMessage,
// chat.update, chat.postEphemeral, views.open, views.update, users.info) and the Socket
// Mode WebSocket (hello, envelopes {envelope_id, type, payload,
// accepts_response_payload}, acks {envelope_id, payload}, disconnect).
// Tests drive it as Slack would: a user clicks a button, submits a dialog
// or types a slash command, and the server records what the app did in
// answer (messages, updates, ephemeral messages, dialogs, acks).
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Tokens the server accepts.
const (
	AppToken = "xapp-1-A0TEST-1-test"
	BotToken = "xoxb-test-bot"
)

// User is a Slack user as users.info shows them.
type User struct {
	ID             string
	Email          string
	EmailConfirmed bool
}

// Message is a message the app posted, as it stands (after updates).
type Message struct {
	Channel string
	TS      string
	Text    string
	// Blocks are the message's blocks, as JSON.
	Blocks json.RawMessage
	// Updates counts chat.update calls on it.
	Updates int
}

// Ephemeral is a chat.postEphemeral call.
type Ephemeral struct {
	Channel, User, Text string
}

// View is a views.open call, and how many views.update calls replaced it
// since.
type View struct {
	TriggerID string
	ID        string
	View      map[string]any
	Updates   int
}

// Server is the stand-in; its URL + "/api/" is the Web API base URL.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu         sync.Mutex
	changed    *sync.Cond
	users      map[string]User
	messages   []*Message
	ephemerals []Ephemeral
	views      []View
	acks       map[string]json.RawMessage
	conns      []*websocket.Conn
	opens      int
	seq        int
}

// New starts a server, closed at the test's end.
func New(t testing.TB) *Server {
	s := &Server{t: t, users: map[string]User{}, acks: map[string]json.RawMessage{}}
	s.changed = sync.NewCond(&s.mu)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/apps.connections.open", s.connectionsOpen)
	mux.HandleFunc("GET /link", s.link)
	mux.HandleFunc("POST /api/conversations.open", s.web(s.conversationsOpen))
	mux.HandleFunc("POST /api/chat.postMessage", s.web(s.postMessage))
	mux.HandleFunc("POST /api/chat.update", s.web(s.update))
	mux.HandleFunc("POST /api/chat.postEphemeral", s.web(s.postEphemeral))
	mux.HandleFunc("POST /api/views.open", s.web(s.viewsOpen))
	mux.HandleFunc("POST /api/views.update", s.web(s.viewsUpdate))
	mux.HandleFunc("POST /api/users.info", s.web(s.usersInfo))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.srv.Close()
	})
	return s
}

// APIURL is the Web API base URL (slack.OptionAPIURL).
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// AddUser makes u known to users.info.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// ok writes a Web API answer: {"ok": true, ...fields}.
func ok(w http.ResponseWriter, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(fields)
}

// fail writes a Web API error: HTTP 200 with {"ok": false, "error": code}.
func fail(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
}

// args reads a Web API call's arguments, sent as a form or as JSON, and
// its token, from the Authorization header or the form's token.
func args(r *http.Request) (map[string]any, string) {
	out := map[string]any{}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		json.Unmarshal(body, &out)
		return out, token
	}
	r.ParseForm()
	for k, v := range r.PostForm {
		out[k] = v[0]
	}
	if t, ok := out["token"].(string); ok && token == "" {
		token = t
	}
	return out, token
}

func str(a map[string]any, k string) string {
	v, _ := a[k].(string)
	return v
}

// web checks the bot token, then runs h.
func (s *Server) web(h func(w http.ResponseWriter, a map[string]any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, token := args(r)
		if token != BotToken {
			fail(w, "invalid_auth")
			return
		}
		h(w, a)
	}
}

func (s *Server) connectionsOpen(w http.ResponseWriter, r *http.Request) {
	if _, token := args(r); token != AppToken {
		fail(w, "invalid_auth")
		return
	}
	s.mu.Lock()
	s.opens++
	s.mu.Unlock()
	ok(w, map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link?ticket=t"})
}

// Connections counts apps.connections.open calls.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opens
}

// upgrader accepts any origin: the client is a server-side app, not a
// browser.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// link is the Socket Mode WebSocket: hello, then envelopes out and acks
// in; Slack pings the client, which answers with pongs.
func (s *Server) link(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.mu.Unlock()
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "slacktest", "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": "A0TEST"}}
	s.write(conn, hello)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				s.mu.Lock()
				conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				s.mu.Unlock()
			}
		}
	}()
	// The client is pinged at once, so that it knows the link is alive.
	s.mu.Lock()
	conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
	s.mu.Unlock()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		if a.Payload == nil {
			a.Payload = json.RawMessage("null")
		}
		s.acks[a.EnvelopeID] = a.Payload
		s.changed.Broadcast()
		s.mu.Unlock()
	}
}

func (s *Server) write(conn *websocket.Conn, v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return conn.WriteJSON(v)
}

// current is the newest connection, waiting for one.
func (s *Server) current() *websocket.Conn {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.conns)
		var c *websocket.Conn
		if n > 0 {
			c = s.conns[n-1]
		}
		s.mu.Unlock()
		if c != nil {
			return c
		}
		if time.Now().After(deadline) {
			s.t.Fatal("slacktest: the app never connected in Socket Mode")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Send sends an envelope of type typ (interactive, slash_commands,
// events_api) with payload, and answers its envelope id.
func (s *Server) Send(typ string, payload any, acceptsResponse bool) string {
	s.t.Helper()
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("env-%d", s.seq)
	s.mu.Unlock()
	env := map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": acceptsResponse}
	if err := s.write(s.current(), env); err != nil {
		s.t.Fatalf("slacktest: send an envelope: %v", err)
	}
	return id
}

// Disconnect asks the app to reconnect, as Slack does before it recycles
// a connection, and closes the connection.
func (s *Server) Disconnect() {
	s.t.Helper()
	c := s.current()
	s.write(c, map[string]any{"type": "disconnect", "reason": "refresh_requested",
		"debug_info": map[string]any{"host": "slacktest"}})
	s.mu.Lock()
	c.Close()
	s.mu.Unlock()
}

// Ack waits for the ack of envelope id and answers its payload (JSON
// null when it carried none).
func (s *Server) Ack(id string) json.RawMessage {
	s.t.Helper()
	var out json.RawMessage
	s.wait(func() bool {
		p, ok := s.acks[id]
		out = p
		return ok
	}, "the ack of "+id)
	return out
}

// wait waits up to 20s for cond, holding the lock while it checks.
func (s *Server) wait(cond func() bool, what string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	timer := time.AfterFunc(20*time.Second, func() {
		s.mu.Lock()
		s.changed.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("slacktest: waited 20s for %s", what)
		}
		s.changed.Wait()
	}
}

// Click is a user's click on a message's button: a block_actions payload.
func (s *Server) Click(user string, m Message, actionID, value string) string {
	s.t.Helper()
	return s.Send("interactive", map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id": "A0TEST",
		"trigger_id": fmt.Sprintf("trigger-%s-%d", user, time.Now().UnixNano()),
		"team":       map[string]any{"id": "T0TEST"},
		"container":  map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": false},
		"channel":    map[string]any{"id": m.Channel},
		"message":    map[string]any{"ts": m.TS, "text": m.Text},
		"actions": []map[string]any{{
			"action_id": actionID, "block_id": "decide", "type": "button", "value": value,
			"action_ts": fmt.Sprintf("%d.000000", time.Now().Unix()),
		}},
	}, false)
}

// Submit is a user's submission of dialog v with values (block id →
// action id → value): a view_submission payload.
func (s *Server) Submit(user string, v View, values map[string]map[string]string) string {
	s.t.Helper()
	state := map[string]any{}
	for b, as := range values {
		m := map[string]any{}
		for a, val := range as {
			m[a] = map[string]any{"type": "plain_text_input", "value": val}
		}
		state[b] = m
	}
	view := map[string]any{"id": v.ID, "type": "modal", "callback_id": v.View["callback_id"],
		"private_metadata": v.View["private_metadata"], "state": map[string]any{"values": state}}
	return s.Send("interactive", map[string]any{
		"type": "view_submission", "user": map[string]any{"id": user}, "team": map[string]any{"id": "T0TEST"},
		"api_app_id": "A0TEST", "view": view,
	}, true)
}

// Command is a user's slash command: a slash_commands payload.
func (s *Server) Command(user, channel, command, text string) string {
	s.t.Helper()
	return s.Send("slash_commands", map[string]any{
		"command": command, "text": text, "user_id": user, "channel_id": channel, "team_id": "T0TEST",
		"trigger_id": "trigger-cmd", "response_url": s.srv.URL + "/response", "api_app_id": "A0TEST",
	}, true)
}

func (s *Server) conversationsOpen(w http.ResponseWriter, a map[string]any) {
	users := str(a, "users")
	if users == "" || strings.Contains(users, ",") {
		fail(w, "invalid_arguments")
		return
	}
	ok(w, map[string]any{"channel": map[string]any{"id": "D" + users}})
}

func (s *Server) postMessage(w http.ResponseWriter, a map[string]any) {
	ch := str(a, "channel")
	if ch == "" {
		fail(w, "channel_not_found")
		return
	}
	s.mu.Lock()
	s.seq++
	m := &Message{Channel: ch, TS: fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq), Text: str(a, "text"), Blocks: blocks(a)}
	s.messages = append(s.messages, m)
	s.changed.Broadcast()
	s.mu.Unlock()
	ok(w, map[string]any{"channel": ch, "ts": m.TS, "message": map[string]any{"text": m.Text}})
}

func blocks(a map[string]any) json.RawMessage {
	switch b := a["blocks"].(type) {
	case string:
		return json.RawMessage(b)
	case nil:
		return nil
	default:
		out, _ := json.Marshal(b)
		return out
	}
}

func (s *Server) update(w http.ResponseWriter, a map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Channel == str(a, "channel") && m.TS == str(a, "ts") {
			m.Text, m.Blocks = str(a, "text"), blocks(a)
			m.Updates++
			s.changed.Broadcast()
			ok(w, map[string]any{"channel": m.Channel, "ts": m.TS})
			return
		}
	}
	fail(w, "message_not_found")
}

func (s *Server) postEphemeral(w http.ResponseWriter, a map[string]any) {
	if str(a, "channel") == "" || str(a, "user") == "" {
		fail(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	s.ephemerals = append(s.ephemerals, Ephemeral{Channel: str(a, "channel"), User: str(a, "user"), Text: str(a, "text")})
	s.changed.Broadcast()
	s.mu.Unlock()
	ok(w, map[string]any{"message_ts": fmt.Sprintf("%d.000000", time.Now().Unix())})
}

func (s *Server) viewsOpen(w http.ResponseWriter, a map[string]any) {
	trigger, view := str(a, "trigger_id"), viewArg(a)
	if trigger == "" || view == nil {
		fail(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	s.seq++
	// The id is set before the view is shared: tests read it from then on.
	view["id"] = fmt.Sprintf("V%d", s.seq)
	v := View{TriggerID: trigger, ID: view["id"].(string), View: view}
	s.views = append(s.views, v)
	s.changed.Broadcast()
	s.mu.Unlock()
	ok(w, map[string]any{"view": view})
}

// viewArg is the view argument of views.open and views.update: JSON in
// a form field, or an object in a JSON body; nil when neither.
func viewArg(a map[string]any) map[string]any {
	var view map[string]any
	switch v := a["view"].(type) {
	case map[string]any:
		view = v
	case string:
		_ = json.Unmarshal([]byte(v), &view)
	}
	return view
}

// viewsUpdate replaces an open view, found by view_id (Slack also takes
// an external_id, which Countersign does not use), keeping its id; a hash
// that is not the view's answers hash_conflict.
func (s *Server) viewsUpdate(w http.ResponseWriter, a map[string]any) {
	id, view := str(a, "view_id"), viewArg(a)
	if id == "" || view == nil {
		fail(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.views {
		if s.views[i].ID != id {
			continue
		}
		if h := str(a, "hash"); h != "" && h != str(s.views[i].View, "hash") {
			fail(w, "hash_conflict")
			return
		}
		view["id"] = id
		s.views[i].View = view
		s.views[i].Updates++
		s.changed.Broadcast()
		ok(w, map[string]any{"view": view})
		return
	}
	fail(w, "not_found")
}

// WaitViewUpdated waits until the n-th (from 1) dialog opened was updated
// and answers it as it stands.
func (s *Server) WaitViewUpdated(n int) View {
	s.t.Helper()
	var out View
	s.wait(func() bool {
		if len(s.views) >= n && s.views[n-1].Updates > 0 {
			out = s.views[n-1]
			return true
		}
		return false
	}, fmt.Sprintf("dialog %d to be updated", n))
	return out
}

func (s *Server) usersInfo(w http.ResponseWriter, a map[string]any) {
	s.mu.Lock()
	u, found := s.users[str(a, "user")]
	s.mu.Unlock()
	if !found {
		fail(w, "user_not_found")
		return
	}
	ok(w, map[string]any{"user": map[string]any{
		"id": u.ID, "name": strings.ToLower(u.ID), "is_email_confirmed": u.EmailConfirmed,
		"profile": map[string]any{"email": u.Email},
	}})
}

// WaitMessage waits for a message posted to channel that matches (nil:
// any) and answers it as it stands.
func (s *Server) WaitMessage(channel string, match func(Message) bool) Message {
	s.t.Helper()
	var out Message
	s.wait(func() bool {
		for _, m := range s.messages {
			if m.Channel == channel && (match == nil || match(*m)) {
				out = *m
				return true
			}
		}
		return false
	}, "a message in "+channel)
	return out
}

// Messages are the messages posted so far, as they stand.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// WaitEphemeral waits for an ephemeral message to user whose text
// contains substr.
func (s *Server) WaitEphemeral(user, substr string) Ephemeral {
	s.t.Helper()
	var out Ephemeral
	s.wait(func() bool {
		for _, e := range s.ephemerals {
			if e.User == user && strings.Contains(e.Text, substr) {
				out = e
				return true
			}
		}
		return false
	}, fmt.Sprintf("an ephemeral message to %s saying %q", user, substr))
	return out
}

// Ephemerals are the ephemeral messages posted so far.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ephemeral(nil), s.ephemerals...)
}

// WaitView waits for the n-th (from 1) dialog opened.
func (s *Server) WaitView(n int) View {
	s.t.Helper()
	var out View
	s.wait(func() bool {
		if len(s.views) >= n {
			out = s.views[n-1]
			return true
		}
		return false
	}, fmt.Sprintf("dialog %d", n))
	return out
}

// WaitUpdated waits until message m was updated more than m.Updates times
// and answers it as it stands.
func (s *Server) WaitUpdated(m Message) Message {
	s.t.Helper()
	var out Message
	s.wait(func() bool {
		for _, x := range s.messages {
			if x.Channel == m.Channel && x.TS == m.TS && x.Updates > m.Updates {
				out = *x
				return true
			}
		}
		return false
	}, "an update of message "+m.TS)
	return out
}
