// Package httpapi serves a node over HTTP, so programs in any language can
// read, update and follow it: an HTML status page (like grafana/dskit's
// /memberlist page), JSON status and readiness, a JSON API to read and
// update the built-in types by key, and a resumable change stream
// (Server-Sent Events).
//
// Routes (all JSON is snake_case; 64-bit integers such as epochs, digests,
// sequence numbers and counter values are decimal strings, which
// JavaScript would otherwise round):
//
//	GET  /                  status page (HTML)
//	GET  /v1/status         node.Status as JSON
//	GET  /v1/ready          readiness: 200 when ready, else 503
//	GET  /v1/keys           every key with its type and sequence number
//	GET  /v1/keys/{key}     one key's value (see Value)
//	POST /v1/keys/{key}     update a key (see Write); needs the bearer token
//	GET  /v1/changes        change stream (see the stream section)
//	GET  /metrics           Prometheus text format (node.Node.WriteMetrics)
//
// # Safety
//
// Writes need "Authorization: Bearer <Config.Token>"; without a Token they
// are refused. Serve listens on loopback unless Config.AllowRemote is set.
// Request bodies are bounded (Config.MaxBody), writes are rate limited
// (Config.WritesPerSecond) and concurrent streams bounded
// (Config.MaxStreams). A body that does not decode gets 400 and a message
// saying what was wrong; nothing a client sends makes the server panic.
//
// # Change stream
//
// GET /v1/changes is a text/event-stream. Each "change" event carries one
// key's Value; its id is a cursor "<epoch>-<seq>". A client that reconnects
// with the last id it processed (the Last-Event-ID header, which browsers'
// EventSource send by themselves, or ?cursor=) gets every key changed since
// then, in sequence order, before the live changes: nothing is missed,
// because a key's current state covers all its earlier changes. The cursor
// only advances past a sequence number once every change up to it was sent.
// Without a cursor, or with one of another epoch (the node restarted) or
// from the future, the stream starts with a "snapshot" event holding every
// key. "member" events report membership changes; comments keep idle
// connections alive.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/converge-crdt/converge/node"
)

// Config configures a Handler. The zero value is usable: reads only.
type Config struct {
	// Token is the bearer token that authorises writes. Empty refuses
	// every write (403).
	Token string
	// MaxBody bounds a request body in bytes. Zero means DefaultMaxBody.
	MaxBody int64
	// WritesPerSecond bounds writes (a token bucket with a burst of the
	// same size); beyond it a write gets 429. Zero means
	// DefaultWritesPerSecond; negative is invalid.
	WritesPerSecond float64
	// ReadsPerSecond bounds reads (status, keys, values, the page,
	// metrics) like WritesPerSecond bounds writes. Zero means
	// DefaultReadsPerSecond; negative is invalid.
	ReadsPerSecond float64
	// MaxStreams bounds concurrent change streams; beyond it a stream
	// request gets 503. Zero means DefaultMaxStreams.
	MaxStreams int
	// AllowRemote lets Serve listen beyond loopback. Reads and the stream
	// need no token, so only set it with a network you trust or a proxy
	// that authenticates.
	AllowRemote bool
	// KeepAlive is the period of comments on an idle stream. Zero means
	// 15 s.
	KeepAlive time.Duration
}

// Defaults for a zero Config.
const (
	DefaultMaxBody         = 64 << 10
	DefaultWritesPerSecond = 200
	DefaultReadsPerSecond  = 1000
	DefaultMaxStreams      = 32
)

// Handler serves a node (see the package doc for its routes).
type Handler struct {
	n       *node.Node
	cfg     Config
	mux     *http.ServeMux
	writes  *bucket
	reads   *bucket
	gone    *departures   // members that left or failed, for the page
	streams chan struct{} // a slot per running stream
}

// New returns a Handler for n. It starts one goroutine, which follows
// n's membership events for the status page and ends when n closes.
func New(n *node.Node, cfg Config) (*Handler, error) {
	if n == nil {
		return nil, fmt.Errorf("%w: nil node", ErrConfig)
	}
	switch {
	case cfg.MaxBody < 0:
		return nil, fmt.Errorf("%w: MaxBody %d", ErrConfig, cfg.MaxBody)
	case cfg.MaxBody == 0:
		cfg.MaxBody = DefaultMaxBody
	}
	switch {
	case cfg.WritesPerSecond < 0:
		return nil, fmt.Errorf("%w: WritesPerSecond %g", ErrConfig, cfg.WritesPerSecond)
	case cfg.WritesPerSecond == 0:
		cfg.WritesPerSecond = DefaultWritesPerSecond
	}
	switch {
	case cfg.ReadsPerSecond < 0:
		return nil, fmt.Errorf("%w: ReadsPerSecond %g", ErrConfig, cfg.ReadsPerSecond)
	case cfg.ReadsPerSecond == 0:
		cfg.ReadsPerSecond = DefaultReadsPerSecond
	}
	switch {
	case cfg.MaxStreams < 0:
		return nil, fmt.Errorf("%w: MaxStreams %d", ErrConfig, cfg.MaxStreams)
	case cfg.MaxStreams == 0:
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	h := &Handler{n: n, cfg: cfg, mux: http.NewServeMux(),
		writes: newBucket(cfg.WritesPerSecond), reads: newBucket(cfg.ReadsPerSecond), streams: make(chan struct{}, cfg.MaxStreams),
		gone: watchDepartures(n)}
	h.mux.HandleFunc("GET /{$}", h.page)
	h.mux.HandleFunc("GET /v1/status", h.status)
	h.mux.HandleFunc("GET /v1/ready", h.ready)
	h.mux.HandleFunc("GET /v1/keys", h.keys)
	h.mux.HandleFunc("GET /v1/keys/{key...}", h.get)
	h.mux.HandleFunc("POST /v1/keys/{key...}", h.post)
	h.mux.HandleFunc("GET /v1/changes", h.changes)
	h.mux.Handle("GET /metrics", n.MetricsHandler())
	return h, nil
}

// ServeHTTP routes a request. Reads other than the stream (bounded by
// MaxStreams) and writes (bounded in post) take from the read budget.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.URL.Path != "/v1/changes" && !h.reads.take() {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusTooManyRequests, fmt.Sprintf("read rate over %g per second", h.cfg.ReadsPerSecond))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Serve listens on addr ("host:port"; a loopback host unless
// Config.AllowRemote) and serves h until ctx ends. It returns the
// listener's address through ready, once listening, if ready is non-nil.
func (h *Handler) Serve(ctx context.Context, addr string, ready func(addr string)) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: address %q: %v", ErrConfig, addr, err)
	}
	if !h.cfg.AllowRemote && !isLoopback(host) {
		return fmt.Errorf("%w: %q is not a loopback address (set Config.AllowRemote)", ErrConfig, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("httpapi: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	if ready != nil {
		ready(ln.Addr().String())
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// authorized checks the bearer token in constant time.
func (h *Handler) authorized(r *http.Request) bool {
	if h.cfg.Token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(h.cfg.Token)) == 1
}

func (h *Handler) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.n.Status())
}

func (h *Handler) ready(w http.ResponseWriter, _ *http.Request) {
	r := h.n.Readiness()
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, r)
}

// keyInfo is one entry of GET /v1/keys.
type keyInfo struct {
	Key  string `json:"key"`
	Type string `json:"type"`
	Seq  uint64 `json:"seq,string"`
}

func (h *Handler) keys(w http.ResponseWriter, _ *http.Request) {
	st := h.n.Status()
	out := make([]keyInfo, 0, len(st.Objects))
	for _, o := range st.Objects {
		out = append(out, keyInfo{Key: o.Key, Type: o.Type, Seq: o.Seq})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	s, err := h.n.Read(key)
	if errors.Is(err, node.ErrNotFound) {
		fail(w, http.StatusNotFound, fmt.Sprintf("no key %q", key))
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, valueOf(s))
}
