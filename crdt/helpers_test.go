package crdt

import (
	"bytes"
	"encoding"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// checkGolden compares got with testdata/name, or rewrites the file with
// -update. The golden files pin the wire form: a change to them is a
// protocol change and needs a new format version.
func checkGolden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./crdt -run %s -update)", name, err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding differs from golden %s:\n got % x\nwant % x", name, got, want)
	}
}

// lawRounds is how many random states each type's law check draws.
const lawRounds = 200

// newRand returns a seeded generator and logs the seed, so a failure can be
// replayed by setting it.
func newRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// checkMergeLaws checks that Merge is idempotent, commutative and
// associative on a, b, c, and that it neither mutates nor retains its
// argument (by lattice Equal against clones taken before).
func checkMergeLaws[T CRDT[T]](t testing.TB, a, b, c T) {
	t.Helper()
	join := func(x, y T) T {
		z := x.Clone()
		z.Merge(y)
		return z
	}
	if aa := join(a, a); !aa.Equal(a) {
		t.Fatalf("merge not idempotent:\n a=%v\n a⊔a=%v", a, aa)
	}
	if ab, ba := join(a, b), join(b, a); !ab.Equal(ba) {
		t.Fatalf("merge not commutative:\n a=%v\n b=%v\n a⊔b=%v\n b⊔a=%v", a, b, ab, ba)
	}
	if l, r := join(join(a, b), c), join(a, join(b, c)); !l.Equal(r) {
		t.Fatalf("merge not associative:\n a=%v\n b=%v\n c=%v", a, b, c)
	}
	bBefore := b.Clone()
	z := a.Clone()
	z.Merge(b)
	if !b.Equal(bBefore) {
		t.Fatalf("merge mutated its argument")
	}
	z.Merge(c) // must not leak into b through shared structure
	if !b.Equal(bBefore) {
		t.Fatalf("merge retained its argument: a later merge changed it")
	}
	if !join(a, b).Equal(join(join(a, b), a)) {
		t.Fatalf("merge does not inflate: (a⊔b)⊔a differs from a⊔b")
	}
}

// checkDelta checks that merging the delta a mutator returned into the old
// state gives the new state, and that the mutation inflated the state.
func checkDelta[T CRDT[T]](t testing.TB, before, after, delta T) {
	t.Helper()
	got := before.Clone()
	got.Merge(delta)
	if !got.Equal(after) {
		t.Fatalf("x ⊔ delta != mutation(x):\n x=%v\n delta=%v\n x⊔delta=%v\n mutated=%v", before, delta, got, after)
	}
	inflated := after.Clone()
	inflated.Merge(before)
	if !inflated.Equal(after) {
		t.Fatalf("mutation did not inflate:\n x=%v\n mutated=%v", before, after)
	}
}

// checkRoundTrip checks that the encoding decodes to an Equal value that
// encodes to the same bytes.
func checkRoundTrip[T interface {
	CRDT[T]
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}](t testing.TB, x T, fresh func() T) {
	t.Helper()
	b, err := x.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	y := fresh()
	if err := y.UnmarshalBinary(b); err != nil {
		t.Fatalf("unmarshal own encoding: %v\n% x", err, b)
	}
	if !y.Equal(x) {
		t.Fatalf("round trip changed the state:\n x=%v\n y=%v", x, y)
	}
	b2, err := y.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("encoding not deterministic:\n% x\n% x", b, b2)
	}
}

// changeReporting is a CRDT whose merge reports novelty.
type changeReporting[T any] interface {
	CRDT[T]
	ChangeReporter[T]
}

// mergeChecked merges y into x with MergeChanged and checks the law of
// ChangeReporter: the report is true exactly when x is no longer Equal to
// a clone taken before.
func mergeChecked[T changeReporting[T]](t testing.TB, x, y T) {
	t.Helper()
	before := x.Clone()
	got := x.MergeChanged(y)
	if want := !before.Equal(x); got != want {
		t.Fatalf("MergeChanged reported %v, state changed: %v\n x = %v\n y = %v\n x ⊔ y = %v", got, want, before, y, x)
	}
}

// checkMergeChanged checks MergeChanged's report on random pairs of the
// given states (replica states and deltas) and the empty state: merging
// one into the other, then the same again (already merged, so no change),
// the result into itself, and the empty state into it.
func checkMergeChanged[T changeReporting[T]](t testing.TB, rng *rand.Rand, states []T, fresh func() T) {
	t.Helper()
	all := append(slices.Clone(states), fresh())
	for range 3 * len(all) {
		x, y := all[rng.IntN(len(all))].Clone(), all[rng.IntN(len(all))]
		mergeChecked(t, x, y)
		if x.MergeChanged(y) {
			t.Fatalf("merging the same value twice reported a change the second time:\n x ⊔ y = %v\n y = %v", x, y)
		}
		mergeChecked(t, x, x)
		mergeChecked(t, x, fresh())
		mergeChecked(t, fresh(), x)
	}
}

// badInput is a malformed encoding, the sentinel error decoding it must
// give and, where set, a substring of the message that names the problem.
// Each type's catalogue of them seeds its fuzz test too.
type badInput struct {
	name string
	in   []byte
	want error
	msg  string
}

// checkBadInputs decodes each input, in a subtest named after it, and
// checks the error. decode returns what it decoded into, for the failure
// message, and checks anything else a failed decode must ensure (the
// receiver unchanged).
func checkBadInputs(t *testing.T, inputs []badInput, decode func(t *testing.T, in []byte) (got any, err error)) {
	t.Helper()
	for _, tc := range inputs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode(t, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("decode(% x) = %v, error %v, want %v", tc.in, got, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

// wireBytes builds an encoding by hand.
func wireBytes(f func(w *wire.Writer)) []byte {
	w := wire.NewWriter()
	f(w)
	return w.Bytes()
}

// flat writes a flat array of replica IDs (strings) and counters (ints).
func flat(kv ...any) []byte {
	w := wire.NewWriter()
	flatTo(w, kv...)
	return w.Bytes()
}

// flatTo writes the same into w.
func flatTo(w *wire.Writer, kv ...any) {
	w.Array(len(kv))
	for _, x := range kv {
		switch x := x.(type) {
		case string:
			w.String(x)
		case int:
			w.Int(int64(x))
		case uint64:
			w.Uint(x)
		}
	}
}
