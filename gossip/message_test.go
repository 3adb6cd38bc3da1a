package gossip

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

var testOrigin = Origin{Name: "n1", Epoch: 7}

// TestGoldenMessages pins the wire form: a change here is a protocol change.
func TestGoldenMessages(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		hex  string
	}{
		{"delta", appendDelta(nil, testOrigin, "k", []byte{0xAA, 0xBB}), "0101026e3107016b02aabb"},
		{"delta direct", appendDeltaType(nil, MsgDeltaDirect, testOrigin, "k", []byte{0xAA}), "0107026e3107016b01aa"},
		{"root", appendRoot(nil, testOrigin, rootMsg{Root: 0x0102030405060708, Keys: 3, Nonce: 5, Stamp: 6}), "0102026e3107010203040506070803" + "0000000000000005" + "0000000000000006"},
		{"root reply", appendRootReply(nil, testOrigin, rootReplyMsg{Root: 1, Echo: 2, Token: 3}), "010a026e3107" + "0000000000000001" + "0000000000000002" + "0000000000000003"},
		{"digests", appendDigests(nil, testOrigin, digestsMsg{Token: 4, Final: true, Keys: []KeyDigest{{"a", 1}}}), "0103026e3107" + "0000000000000004" + "01010161" + "0000000000000001"},
		{"digests scoped", appendDigests(nil, testOrigin, digestsMsg{Scope: &bucketSet{0x81}, Keys: nil}), "0103026e3107" + "0000000000000000" + "02" + "81" + strings.Repeat("00", 31) + "00"},
		{"want", appendWant(nil, testOrigin, 6, []string{"a", "bc"}), "0104026e3107" + "0000000000000006" + "020161026263"},
		{"state", appendState(nil, testOrigin, []entry{{"a", []byte{1}}}), "0105026e3107010161" + "0101"},
		{"chunk", appendChunk(nil, testOrigin, chunkMsg{ID: 9, Seq: 1, Total: 2, Size: 3, Data: []byte{5}}), "0106026e3107" + "0000000000000009" + "01020301" + "05"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.msg); got != tc.hex {
				t.Errorf("encoded %s, want %s", got, tc.hex)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 3000)
	t.Run("delta", func(t *testing.T) {
		h, r, err := decodeHeader(appendDelta(nil, testOrigin, "key", big))
		if err != nil || h.Type != MsgDelta || h.From != testOrigin {
			t.Fatalf("header %+v, %v", h, err)
		}
		e, err := decodeDelta(r)
		if err != nil || e.Key != "key" || !bytes.Equal(e.Blob, big) {
			t.Fatalf("delta %q %d bytes, %v", e.Key, len(e.Blob), err)
		}
	})
	t.Run("digests", func(t *testing.T) {
		want := digestsMsg{Keys: []KeyDigest{{"a", 1}, {"b", ^uint64(0)}}}
		_, r, err := decodeHeader(appendDigests(nil, testOrigin, want))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeDigests(r)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("state", func(t *testing.T) {
		want := []entry{{"a", []byte{1, 2}}, {"b", big}}
		_, r, err := decodeHeader(appendState(nil, testOrigin, want))
		if err != nil {
			t.Fatal(err)
		}
		l, err := decodeState(r)
		if got := slices.Collect(l.All()); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %d entries, %v", len(got), err)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrDecode},
		{"version 2", []byte{2, 1, 0, 0}, ErrVersion},
		{"type 0", []byte{1, 0, 0, 0}, ErrType},
		{"type 99", []byte{1, 99, 0, 0}, ErrType},
		{"type 11", []byte{1, 11, 0, 0}, ErrType},
		{"huge name", []byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrDecode},
		{"name past end", []byte{1, 1, 5, 'a'}, ErrDecode},
		{"no epoch", []byte{1, 1, 0}, ErrDecode},
		{"epoch overflow", append([]byte{1, 1, 0}, bytes.Repeat([]byte{0xff}, 11)...), ErrDecode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := decodeHeader(tc.msg); !errors.Is(err, tc.want) || !errors.Is(err, ErrDecode) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	hdr := func(t MsgType) []byte { return appendHeader(nil, t, testOrigin) }
	bodies := []struct {
		name string
		msg  []byte
	}{
		{"delta huge key", append(hdr(MsgDelta), 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"delta empty key", append(hdr(MsgDelta), 0, 0)},
		{"delta blob past end", append(hdr(MsgDelta), 1, 'k', 9, 1)},
		{"delta trailing", append(hdr(MsgDelta), 1, 'k', 1, 1, 1)},
		{"digests huge count", append(hdr(MsgDigests), 0, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"digests bad flags", append(hdr(MsgDigests), 4, 0)},
		{"digests scope truncated", append(hdr(MsgDigests), 2, 0xff, 0xff)},
		{"buckets short", append(hdr(MsgBuckets), make([]byte, numBuckets*8-1)...)},
		{"buckets long", append(hdr(MsgBuckets), make([]byte, numBuckets*8+1)...)},
		{"want huge count", append(hdr(MsgWant), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)},
		{"state huge count", append(hdr(MsgState), 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"state empty key", append(hdr(MsgState), 1, 0, 0)},
		{"want empty key", append(hdr(MsgWant), 2, 1, 'a', 0)},
		{"digests empty key", append(hdr(MsgDigests), 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"chunk zero total", append(hdr(MsgChunk), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0)},
		{"chunk seq past total", append(hdr(MsgChunk), 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 1, 0)},
		{"chunk data over size", append(hdr(MsgChunk), 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 2, 1, 1)},
		{"root truncated", append(hdr(MsgRoot), 1, 2, 3)},
		{"leave with a body", append(hdr(MsgLeave), 0)},
	}
	for _, tc := range bodies {
		t.Run(tc.name, func(t *testing.T) {
			if err := decodeAny(tc.msg); !errors.Is(err, ErrDecode) {
				t.Fatalf("got %v, want ErrDecode", err)
			}
		})
	}
}

// decodeAny decodes a whole message of any type, as the worker would.
func decodeAny(msg []byte) error {
	h, r, err := decodeHeader(msg)
	if err != nil {
		return err
	}
	switch h.Type {
	case MsgDelta:
		_, err = decodeDelta(r)
	case MsgRoot:
		_, err = decodeRoot(r)
	case MsgDigests:
		_, err = decodeDigests(r)
	case MsgWant:
		_, _, err = decodeWant(r)
	case MsgState:
		_, err = decodeState(r)
	case MsgChunk:
		_, err = decodeChunk(r)
	case MsgLeave:
		err = r.end("leave")
	case MsgBuckets:
		_, _, err = decodeBuckets(r)
	case MsgRootReply:
		_, err = decodeRootReply(r)
	}
	return err
}

func TestSlogWriterCountsHandoffDrops(t *testing.T) {
	var n atomic.Uint64
	var buf bytes.Buffer
	w := &slogWriter{l: slog.New(slog.NewTextHandler(&buf, nil)), handoffDrops: &n}
	// The line memberlist (net.go) writes when its handoff queue is full.
	fmt.Fprintf(w, "[WARN] memberlist: handler queue full, dropping message (%d) %s\n", 8, "from=127.0.0.1:1")
	fmt.Fprintf(w, "[DEBUG] memberlist: Stream connection from=127.0.0.1:1\n")
	if n.Load() != 1 {
		t.Fatalf("counted %d handoff drops, want 1", n.Load())
	}
	if out := buf.String(); !strings.Contains(out, "level=WARN msg=\"handler queue full") || strings.Contains(out, "DEBUG") {
		t.Fatalf("log output:\n%s", out)
	}
}

func TestStatsJSON(t *testing.T) {
	s := Stats{Sent: map[MsgType]Traffic{MsgDelta: {Msgs: 2, Bytes: 40}}, Received: map[MsgType]Traffic{MsgType(42): {Msgs: 1}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Sent":{"delta":{"Msgs":2,"Bytes":40}}`) {
		t.Fatalf("json %s", b)
	}
	var back Stats
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}
