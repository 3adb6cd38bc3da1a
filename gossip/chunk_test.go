package gossip

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
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
