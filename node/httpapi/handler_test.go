package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/converge-crdt/converge/node"
)

func serve(t *testing.T, cfg Config) (*node.Node, *httptest.Server) {
	t.Helper()
	n, err := node.Open(node.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	h, err := New(n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return n, srv
}

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReadAndWrite(t *testing.T) {
	_, srv := serve(t, Config{Token: "s3cret"})
	u := srv.URL + "/v1/keys/"
	tests := []struct {
		name, key, token, body string
		code                   int
		want                   string // substring of the answer
	}{
		{name: "no token", key: "c", body: `{"type":"GCounter","op":"inc","by":1}`, code: 401, want: "Bearer"},
		{name: "wrong token", key: "c", token: "nope", body: `{"type":"GCounter","op":"inc","by":1}`, code: 401},
		{name: "inc", key: "c", token: "s3cret", body: `{"type":"GCounter","op":"inc","by":2}`, code: 200, want: `"value": "2"`},
		{name: "inc by string", key: "c", token: "s3cret", body: `{"type":"GCounter","op":"inc","by":"3"}`, code: 200, want: `"value": "5"`},
		{name: "dec", key: "p", token: "s3cret", body: `{"type":"PNCounter","op":"dec","by":4}`, code: 200, want: `"value": "-4"`},
		{name: "set add", key: "s", token: "s3cret", body: `{"type":"ORSet","op":"add","element":{"id":7}}`, code: 200, want: `"id": 7`},
		{name: "map set", key: "claims/1", token: "s3cret", body: `{"type":"LWWMap","op":"set","field":"task","value":"agent-a"}`, code: 200, want: `"task": "agent-a"`},
		{name: "map delete", key: "claims/1", token: "s3cret", body: `{"type":"LWWMap","op":"delete","field":"task"}`, code: 200, want: `"value": {}`},
		{name: "type mismatch", key: "c", token: "s3cret", body: `{"type":"PNCounter","op":"inc","by":1}`, code: 409, want: "bound to"},
		{name: "bad json", key: "c", token: "s3cret", body: `{"type":`, code: 400, want: "not a write object"},
		{name: "unknown field", key: "c", token: "s3cret", body: `{"type":"GCounter","op":"inc","by":1,"x":1}`, code: 400, want: "unknown field"},
		{name: "negative", key: "c", token: "s3cret", body: `{"type":"GCounter","op":"inc","by":-1}`, code: 400, want: "non-negative"},
		{name: "missing element", key: "s", token: "s3cret", body: `{"type":"ORSet","op":"add"}`, code: 400, want: `element\" is required`},
		{name: "unknown op", key: "s", token: "s3cret", body: `{"type":"ORSet","op":"pop"}`, code: 400, want: "unknown type and op"},
		{name: "trailing", key: "c", token: "s3cret", body: `{"type":"GCounter","op":"inc","by":1} {}`, code: 400, want: "trailing"},
		{name: "too deep", key: "s", token: "s3cret", body: `{"type":"ORSet","op":"add","element":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, code: 400, want: "nested"},
		{name: "too big", key: "s", token: "s3cret", body: `{"type":"ORSet","op":"add","element":"` + strings.Repeat("x", DefaultMaxBody) + `"}`, code: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, "POST", u+tc.key, tc.token, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("POST %s %s: %d %s, want %d containing %q", tc.key, tc.body[:min(len(tc.body), 60)], code, body, tc.code, tc.want)
			}
		})
	}
	if code, body := do(t, "GET", u+"c", "", ""); code != 200 || !strings.Contains(body, `"value": "5"`) {
		t.Errorf("GET c: %d %s", code, body)
	}
	if code, _ := do(t, "GET", u+"missing", "", ""); code != 404 {
		t.Errorf("GET missing: %d, want 404", code)
	}
	if code, body := do(t, "GET", srv.URL+"/v1/keys", "", ""); code != 200 || !strings.Contains(body, `"key": "claims/1"`) {
		t.Errorf("GET keys: %d %s", code, body)
	}
	if code, body := do(t, "GET", srv.URL+"/v1/ready", "", ""); code != 200 || !strings.Contains(body, `"ready": true`) {
		t.Errorf("GET ready: %d %s", code, body)
	}
}

func TestWritesDisabledAndRateLimited(t *testing.T) {
	_, srv := serve(t, Config{})
	if code, body := do(t, "POST", srv.URL+"/v1/keys/c", "x", `{"type":"GCounter","op":"inc","by":1}`); code != 403 {
		t.Errorf("write without a server token: %d %s, want 403", code, body)
	}
	_, srv = serve(t, Config{Token: "t", WritesPerSecond: 1})
	codes := map[int]int{}
	for range 5 {
		code, _ := do(t, "POST", srv.URL+"/v1/keys/c", "t", `{"type":"GCounter","op":"inc","by":1}`)
		codes[code]++
	}
	if codes[429] == 0 || codes[200] == 0 {
		t.Errorf("5 writes at 1/s: %v, want some 200 and some 429", codes)
	}
	n, _ := serve(t, Config{})
	if _, err := New(n, Config{WritesPerSecond: -1}); err == nil {
		t.Error("negative WritesPerSecond accepted")
	}
	if _, err := New(nil, Config{}); err == nil {
		t.Error("nil node accepted")
	}
	_, srv = serve(t, Config{ReadsPerSecond: 1})
	codes = map[int]int{}
	for range 5 {
		code, _ := do(t, "GET", srv.URL+"/v1/status", "", "")
		codes[code]++
	}
	if codes[429] == 0 || codes[200] == 0 {
		t.Errorf("5 reads at 1/s: %v, want some 200 and some 429", codes)
	}
}

// sse reads Server-Sent Events.
type sse struct {
	r    *bufio.Reader
	body io.Closer
}

type event struct{ id, kind, data string }

func openStream(t *testing.T, url, lastID string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/changes", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	s := &sse{r: bufio.NewReader(resp.Body), body: resp.Body}
	t.Cleanup(func() { s.body.Close() })
	return s
}

func (s *sse) next(t *testing.T) event {
	t.Helper()
	var e event
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && e.kind != "":
			return e
		case strings.HasPrefix(line, "id: "):
			e.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.data = line[6:]
		}
	}
}

func inc(t *testing.T, n *node.Node, key string) {
	t.Helper()
	c, err := node.GCounter(n, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Inc(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
}

// TestStreamResumesWithoutMissingAChange: a client that disconnects and
// reconnects with its last event id receives every key changed meanwhile;
// without a usable cursor it gets a snapshot.
func TestStreamResumesWithoutMissingAChange(t *testing.T) {
	n, srv := serve(t, Config{})
	inc(t, n, "before")
	s := openStream(t, srv.URL, "")
	e := s.next(t)
	var snap snapshotEvent
	if err := json.Unmarshal([]byte(e.data), &snap); err != nil || e.kind != "snapshot" || len(snap.Keys) != 1 || snap.Keys[0].Key != "before" {
		t.Fatalf("first event %+v (%v), want a snapshot of key before", e, err)
	}
	inc(t, n, "live")
	e = s.next(t)
	if e.kind != "change" || !strings.Contains(e.data, `"key":"live"`) {
		t.Fatalf("live event %+v", e)
	}
	last := e.id
	s.body.Close()

	// Changes while disconnected, to several keys.
	inc(t, n, "gap-1")
	inc(t, n, "gap-2")
	inc(t, n, "live")
	s = openStream(t, srv.URL, last)
	got := map[string]bool{}
	for range 3 {
		e = s.next(t)
		if e.kind != "change" {
			t.Fatalf("resumed stream sent %+v", e)
		}
		var v Value
		if err := json.Unmarshal([]byte(e.data), &v); err != nil {
			t.Fatal(err)
		}
		got[v.Key] = true
	}
	if !got["gap-1"] || !got["gap-2"] || !got["live"] {
		t.Errorf("resumed stream delivered %v, want gap-1, gap-2, live", got)
	}
	c, err := ParseCursor(e.id)
	if err != nil || c.Epoch != n.Epoch() || c.Seq != n.Seq() {
		t.Errorf("last id %q (%v), want epoch %d seq %d", e.id, err, n.Epoch(), n.Seq())
	}

	s = openStream(t, srv.URL, Cursor{Epoch: n.Epoch() + 1, Seq: 1}.String())
	if e := s.next(t); e.kind != "snapshot" || !strings.Contains(e.data, "another epoch") {
		t.Errorf("cursor of another epoch: %+v, want a snapshot", e)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/changes", nil)
	req.Header.Set("Last-Event-ID", "garbage")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad cursor: %d, want 400", resp.StatusCode)
	}
}

func TestStreamLimit(t *testing.T) {
	_, srv := serve(t, Config{MaxStreams: 1})
	openStream(t, srv.URL, "").next(t)
	code, body := do(t, "GET", srv.URL+"/v1/changes", "", "")
	if code != 503 || !strings.Contains(body, "too many streams") {
		t.Errorf("second stream: %d %s, want 503", code, body)
	}
}

func TestStatusPageEscapes(t *testing.T) {
	n, srv := serve(t, Config{})
	inc(t, n, "<script>alert(1)</script>")
	code, body := do(t, "GET", srv.URL+"/", "", "")
	if code != 200 || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("status page: %d, key not escaped:\n%s", code, body)
	}
	for _, want := range []string{`id="readiness"`, "ready: alone by design", `id="members"`, "GCounter", "broadcast queue"} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
}

func TestServeLoopbackOnly(t *testing.T) {
	n, err := node.Open(node.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h, _ := New(n, Config{})
	if err := h.Serve(context.Background(), "0.0.0.0:0", nil); err == nil {
		t.Error("Serve on 0.0.0.0 without AllowRemote")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	addrs := make(chan string, 1)
	go func() { done <- h.Serve(ctx, "127.0.0.1:0", func(a string) { addrs <- a }) }()
	a := <-addrs
	if code, _ := do(t, "GET", "http://"+a+"/v1/status", "", ""); code != 200 {
		t.Errorf("status over Serve: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}

// TestStreamMemberEvents: a node joining shows in the stream as a member
// event (from node.MemberEvents).
func TestStreamMemberEvents(t *testing.T) {
	cfg := node.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	a, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h, _ := New(a, Config{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	s := openStream(t, srv.URL, "")
	if e := s.next(t); e.kind != "snapshot" {
		t.Fatalf("first event %+v", e)
	}
	cfg.Join = []string{a.Addr()}
	cfg.Name = "joiner"
	b, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for {
		e := s.next(t) // the test's deadline bounds this
		if e.kind == "member" && strings.Contains(e.data, `"kind":"join"`) && strings.Contains(e.data, `"name":"joiner"`) {
			s.body.Close() // before the deferred srv.Close, which waits for it
			return
		}
	}
}

// TestStatusPageShowsDepartedMembers: a member that closed is shown as
// left (from node.MemberEvents), not dropped from the page.
func TestStatusPageShowsDepartedMembers(t *testing.T) {
	cfg := node.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	a, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h, _ := New(a, Config{})
	cfg.Join = []string{a.Addr()}
	cfg.Name = "leaver"
	b, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitMembers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	for {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		body := rec.Body.String()
		if strings.Contains(body, "<td>leaver</td>") && (strings.Contains(body, "<td>left since") || strings.Contains(body, "<td>failed since")) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("departed member not shown:\n%s", body)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
