package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/converge-crdt/converge/node"
)

// Value is the JSON form of one key (GET /v1/keys/{key}, the stream's
// change events, and the answer to a write). Counter values are decimal
// strings ("value": "42"); a set is a JSON array of its elements, a map a
// JSON object.
type Value struct {
	Key     string    `json:"key"`
	Type    string    `json:"type"`
	Seq     uint64    `json:"seq,string"`
	Changed time.Time `json:"changed"`
	Value   any       `json:"value"`
}

func valueOf(s node.Snapshot) Value {
	v := Value{Key: s.Key, Type: s.Type, Seq: s.Seq, Changed: s.Changed, Value: s.Value}
	switch x := s.Value.(type) {
	case uint64:
		v.Value = strconv.FormatUint(x, 10)
	case int64:
		v.Value = strconv.FormatInt(x, 10)
	}
	return v
}

// Write is the body of POST /v1/keys/{key}:
//
//	{"type": "GCounter",  "op": "inc", "by": "2"}
//	{"type": "PNCounter", "op": "dec", "by": 1}
//	{"type": "ORSet",     "op": "add", "element": {"any": "JSON"}}
//	{"type": "ORSet",     "op": "remove", "element": "x"}
//	{"type": "LWWMap",    "op": "set", "field": "task-1", "value": "agent-a"}
//	{"type": "LWWMap",    "op": "delete", "field": "task-1"}
//
// "by" is a non-negative integer, as a JSON number or a decimal string.
// Sets hold JSON values and maps string fields with JSON values (stored as
// their msgpack encoding, so Go nodes read them with matching Go types).
// The type binds a new key and must match an existing one.
type Write struct {
	Type    string          `json:"type"`
	Op      string          `json:"op"`
	By      json.Number     `json:"by,omitempty"`
	Element json.RawMessage `json:"element,omitempty"`
	Field   *string         `json:"field,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
}

// maxDepth bounds the nesting of JSON elements and values, as the wire
// decoder bounds msgpack.
const maxDepth = 32

// DecodeWrite decodes and checks a Write body. Errors wrap ErrBadRequest
// and say what was wrong.
func DecodeWrite(body []byte) (Write, error) {
	var wr Write
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wr); err != nil {
		return Write{}, fmt.Errorf("%w: body is not a write object: %v", ErrBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Write{}, fmt.Errorf("%w: trailing data after the write object", ErrBadRequest)
	}
	bad := func(format string, args ...any) (Write, error) {
		return Write{}, fmt.Errorf("%w: %s %s: "+format, append([]any{ErrBadRequest, wr.Type, wr.Op}, args...)...)
	}
	need := func(counter, elem, field, value bool) error {
		switch {
		case counter != (wr.By != ""):
			return errors.New(`"by" ` + want(counter))
		case elem != (wr.Element != nil):
			return errors.New(`"element" ` + want(elem))
		case field != (wr.Field != nil):
			return errors.New(`"field" ` + want(field))
		case value != (wr.Value != nil):
			return errors.New(`"value" ` + want(value))
		}
		return nil
	}
	var err error
	switch wr.Type + " " + wr.Op {
	case "GCounter inc", "PNCounter inc", "PNCounter dec":
		if err = need(true, false, false, false); err == nil {
			_, err = wr.by()
		}
	case "ORSet add", "ORSet remove":
		if err = need(false, true, false, false); err == nil {
			err = checkJSON(wr.Element)
		}
	case "LWWMap set":
		if err = need(false, false, true, true); err == nil {
			err = checkJSON(wr.Value)
		}
	case "LWWMap delete":
		err = need(false, false, true, false)
	default:
		return bad(`unknown type and op (want GCounter inc, PNCounter inc|dec, ORSet add|remove, LWWMap set|delete)`)
	}
	if err != nil {
		return bad("%v", err)
	}
	return wr, nil
}

func want(b bool) string {
	if b {
		return "is required"
	}
	return "is not allowed"
}

// by parses "by": a non-negative integer.
func (wr Write) by() (uint64, error) {
	v, err := strconv.ParseUint(strings.Trim(string(wr.By), `"`), 10, 64)
	if err != nil {
		return 0, fmt.Errorf(`"by" %q is not a non-negative integer`, wr.By)
	}
	return v, nil
}

// checkJSON checks that raw is one JSON value nested at most maxDepth.
func checkJSON(raw json.RawMessage) error {
	depth, maxSeen := 0, 0
	inStr, esc := false, false
	for _, c := range raw {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			depth++
			maxSeen = max(maxSeen, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	if maxSeen > maxDepth {
		return fmt.Errorf("value nested %d deep, limit %d", maxSeen, maxDepth)
	}
	return nil
}

// decodeValue turns a JSON element or value into the Go value stored:
// numbers that are integers become int64 (or uint64), others float64.
func decodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		for i := range x {
			x[i] = numbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbers(x[k])
		}
	}
	return v
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		if h.cfg.Token == "" {
			fail(w, http.StatusForbidden, "writes are disabled: the server has no token (Config.Token)")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="converge"`)
		fail(w, http.StatusUnauthorized, "writes need Authorization: Bearer <token>")
		return
	}
	if !h.writes.take() {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusTooManyRequests, fmt.Sprintf("write rate over %g per second", h.cfg.WritesPerSecond))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", h.cfg.MaxBody))
			return
		}
		fail(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	wr, err := DecodeWrite(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	key := r.PathValue("key")
	if err := apply(r, h.n, key, wr); err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrBadRequest), errors.Is(err, node.ErrEmptyKey):
			code = http.StatusBadRequest
		case errors.Is(err, node.ErrTypeMismatch):
			code = http.StatusConflict
		case errors.Is(err, node.ErrTooManyObjects):
			code = http.StatusInsufficientStorage
		case errors.Is(err, node.ErrClosed):
			code = http.StatusServiceUnavailable
		}
		fail(w, code, err.Error())
		return
	}
	s, err := h.n.Read(key)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, valueOf(s))
}

// apply performs a decoded Write on key.
func apply(r *http.Request, n *node.Node, key string, wr Write) error {
	ctx := r.Context()
	decode := func(raw json.RawMessage) (any, error) {
		v, err := decodeValue(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		return v, nil
	}
	switch wr.Type {
	case "GCounter":
		c, err := node.GCounter(n, key)
		if err != nil {
			return err
		}
		by, _ := wr.by()
		return c.Inc(ctx, by)
	case "PNCounter":
		c, err := node.PNCounter(n, key)
		if err != nil {
			return err
		}
		by, _ := wr.by()
		if wr.Op == "dec" {
			return c.Dec(ctx, by)
		}
		return c.Inc(ctx, by)
	case "ORSet":
		s, err := node.ORSet[any](n, key)
		if err != nil {
			return err
		}
		e, err := decode(wr.Element)
		if err != nil {
			return err
		}
		if wr.Op == "remove" {
			return s.Remove(ctx, e)
		}
		return s.Add(ctx, e)
	case "LWWMap":
		m, err := node.LWWMap[string, any](n, key)
		if err != nil {
			return err
		}
		if wr.Op == "delete" {
			return m.Delete(ctx, *wr.Field)
		}
		v, err := decode(wr.Value)
		if err != nil {
			return err
		}
		return m.Set(ctx, *wr.Field, v)
	}
	return fmt.Errorf("%w: type %q", ErrBadRequest, wr.Type)
}

// bucket is a token bucket: rate tokens per second, burst of rate.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	tokens float64   // guarded by mu
	last   time.Time // guarded by mu
}

func newBucket(rate float64) *bucket {
	return &bucket{rate: rate, tokens: math.Max(1, rate), last: time.Now()}
}

func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = math.Min(math.Max(1, b.rate), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
