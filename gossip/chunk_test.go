package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func decodeChunks(t *testing.T, msgs [][]byte) []chunkMsg {
	t.Helper()
	out := make([]chunkMsg, len(msgs))
	for i, m := range msgs {
		h, r, err := decodeHeader(m)
		if err != nil || h.Type != MsgChunk {
			t.Fatalf("chunk %d: %v %v", i, h.Type, err)
		}
		if out[i], err = decodeChunk(r); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	return out
}

func TestChunksReassembleInAnyOrder(t *testing.T) {
	msg := make([]byte, 10_000)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	msgs := splitMessage(testOrigin, 42, msg, 1024)
	for _, m := range msgs {
		if len(m) > 1024 {
			t.Fatalf("chunk of %d bytes over chunk size", len(m))
		}
	}
	chunks := decodeChunks(t, msgs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
	ra := newReassembler(1<<20, 1<<20, time.Minute)
	for i, c := range chunks {
		out, err := ra.add(testOrigin, c, time.Now())
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if last := i == len(chunks)-1; (out != nil) != last {
			t.Fatalf("chunk %d of %d: complete=%v", i, len(chunks), out != nil)
		}
		if out != nil && !bytes.Equal(out, msg) {
			t.Fatal("reassembled message differs")
		}
	}
	if ra.held != 0 || len(ra.transfers) != 0 {
		t.Fatalf("left %d bytes in %d transfers", ra.held, len(ra.transfers))
	}
}

func TestReassemblyLimits(t *testing.T) {
	msg := make([]byte, 5000)
	chunks := decodeChunks(t, splitMessage(testOrigin, 1, msg, 1024))
	now := time.Now()
	t.Run("over MaxBlob", func(t *testing.T) {
		ra := newReassembler(4000, 1<<20, time.Minute)
		if _, err := ra.add(testOrigin, chunks[0], now); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want ErrTooLarge", err)
		}
	})
	t.Run("over held bytes", func(t *testing.T) {
		ra := newReassembler(1<<20, 1500, time.Minute)
		var err error
		for _, c := range chunks {
			if _, err = ra.add(testOrigin, c, now); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrTooLarge) || ra.held != 0 {
			t.Fatalf("got %v holding %d, want ErrTooLarge holding 0", err, ra.held)
		}
	})
	t.Run("repeated chunk", func(t *testing.T) {
		ra := newReassembler(1<<20, 1<<20, time.Minute)
		ra.add(testOrigin, chunks[0], now)
		if _, err := ra.add(testOrigin, chunks[0], now); !errors.Is(err, ErrDecode) || ra.held != 0 {
			t.Fatalf("got %v holding %d", err, ra.held)
		}
	})
	t.Run("disagreeing size", func(t *testing.T) {
		ra := newReassembler(1<<20, 1<<20, time.Minute)
		ra.add(testOrigin, chunks[0], now)
		c := chunks[1]
		c.Size++
		if _, err := ra.add(testOrigin, c, now); !errors.Is(err, ErrDecode) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		ra := newReassembler(1<<20, 1<<20, time.Minute)
		ra.add(testOrigin, chunks[0], now)
		if n := ra.expire(now.Add(30 * time.Second)); n != 0 {
			t.Fatalf("expired %d fresh transfers", n)
		}
		if n := ra.expire(now.Add(2 * time.Minute)); n != 1 || ra.held != 0 {
			t.Fatalf("expired %d, holding %d", n, ra.held)
		}
	})
	t.Run("same id from two senders", func(t *testing.T) {
		ra := newReassembler(1<<20, 1<<20, time.Minute)
		other := Origin{Name: "n2", Epoch: 1}
		for i, c := range chunks {
			a, err1 := ra.add(testOrigin, c, now)
			b, err2 := ra.add(other, c, now)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if last := i == len(chunks)-1; last != (a != nil) || last != (b != nil) {
				t.Fatalf("chunk %d: completion %v %v", i, a != nil, b != nil)
			}
		}
	})
}

// TestTransfersPerOriginAreCapped: one sender cannot hold more than
// maxTransfersPerOrigin incomplete transfers, whatever the global room;
// others still get theirs, and a finished transfer frees its slot.
func TestTransfersPerOriginAreCapped(t *testing.T) {
	msg := make([]byte, 5000)
	now := time.Now()
	ra := newReassembler(1<<20, 1<<30, time.Minute)
	first := func(from Origin, id uint64) chunkMsg {
		return decodeChunks(t, splitMessage(from, id, msg, 1024))[0]
	}
	hog := Origin{Name: "hog", Epoch: 1}
	for id := range uint64(maxTransfersPerOrigin) {
		if _, err := ra.add(hog, first(hog, id), now); err != nil {
			t.Fatalf("transfer %d: %v", id, err)
		}
	}
	if _, err := ra.add(hog, first(hog, 99), now); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("transfer %d from one sender: %v, want ErrTooLarge", maxTransfersPerOrigin+1, err)
	}
	other := Origin{Name: "other", Epoch: 1}
	if _, err := ra.add(other, first(other, 99), now); err != nil {
		t.Fatalf("another sender's transfer refused: %v", err)
	}
	// Completing one of the hog's transfers frees a slot.
	for _, c := range decodeChunks(t, splitMessage(hog, 0, msg, 1024))[1:] {
		if _, err := ra.add(hog, c, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ra.add(hog, first(hog, 99), now); err != nil {
		t.Fatalf("slot not freed by a completed transfer: %v", err)
	}
}

// TestTransferDeadlineIsAbsolute: a transfer whose chunks keep trickling in
// is still dropped once the timeout has passed since its first chunk.
func TestTransferDeadlineIsAbsolute(t *testing.T) {
	chunks := decodeChunks(t, splitMessage(testOrigin, 1, make([]byte, 5000), 1024))
	start := time.Now()
	ra := newReassembler(1<<20, 1<<20, time.Minute)
	for i, c := range chunks[:3] {
		at := start.Add(time.Duration(i) * 25 * time.Second)
		if _, err := ra.add(testOrigin, c, at); err != nil {
			t.Fatal(err)
		}
		if n := ra.expire(at); n != 0 {
			t.Fatalf("dropped at %v, before its deadline", at.Sub(start))
		}
	}
	// The last chunk came 11 s ago, the first 61 s ago.
	if n := ra.expire(start.Add(61 * time.Second)); n != 1 || ra.held != 0 {
		t.Fatalf("expired %d holding %d; want the trickling transfer dropped", n, ra.held)
	}
	// A chunk after the deadline, before expire runs, is refused too.
	for _, c := range chunks[:2] {
		_, err := ra.add(testOrigin, c, start.Add(time.Duration(c.Seq)*61*time.Second))
		if c.Seq == 1 && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("chunk after the deadline: %v, want ErrTooLarge", err)
		}
	}
	if len(ra.transfers) != 0 || ra.held != 0 {
		t.Fatalf("%d transfers holding %d bytes after the deadline", len(ra.transfers), ra.held)
	}
}

// TestChunksExtendOnlyTheirKey: a chunk of a transfer extends the want of
// the key the transfer delivers, up to the transfer's deadline, and no other
// key requested from the same peer.
func TestChunksExtendOnlyTheirKey(t *testing.T) {
	peer := Origin{Name: "p", Epoch: 1}
	g := &Gossip{
		cfg:   Config{AntiEntropyInterval: time.Second, TransferTimeout: 2 * time.Second, MaxBlob: 1 << 20},
		log:   slog.New(slog.DiscardHandler),
		reasm: newReassembler(1<<20, 1<<20, 2*time.Second),
		wants: make(map[string]want),
		done:  make(chan struct{}),
	}
	g.table.put(&memberlist.Node{Name: peer.Name, Meta: binary.AppendUvarint(nil, peer.Epoch)})
	now := time.Now()
	soon := now.Add(500 * time.Millisecond)
	g.wants["big"] = want{peer: peer.Name, until: soon}
	g.wants["small"] = want{peer: peer.Name, until: soon}
	state := appendState(nil, peer, []entry{{Key: "big", Blob: make([]byte, 5000)}})
	chunk := splitMessage(peer, 7, state, 1024)[0]
	h, r, err := decodeHeader(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.handle(h, r, false, g.newInflight(len(chunk))); err != nil {
		t.Fatal(err)
	}
	p, ok := g.reasm.inProgress(peer, 7)
	if !ok || p.key != "big" {
		t.Fatalf("transfer in progress %v, key %q; want key big", ok, p.key)
	}
	if w := g.wants["big"]; !w.until.After(soon) || w.until.After(p.deadline) {
		t.Errorf("big wanted until %v; want extended, but not past the transfer deadline %v", w.until.Sub(now), p.deadline.Sub(now))
	}
	if w := g.wants["small"]; !w.until.Equal(soon) {
		t.Errorf("small wanted until %v; a transfer of another key extended it", w.until.Sub(now))
	}
}
