package proptest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/proptest"
)

func TestRunRejectsInvalidSpecs(t *testing.T) {
	valid := counterSpec()
	tests := []struct {
		name   string
		mutate func(s *proptest.Spec[*counter])
	}{
		{name: "no New", mutate: func(s *proptest.Spec[*counter]) { s.New = nil }},
		{name: "no Ops", mutate: func(s *proptest.Spec[*counter]) { s.Ops = nil }},
		{name: "op without Apply", mutate: func(s *proptest.Spec[*counter]) { s.Ops = []proptest.Op[*counter]{{Name: "inc"}} }},
		{name: "op without Name", mutate: func(s *proptest.Spec[*counter]) { s.Ops[0].Name = "" }},
		{name: "Model without Observe", mutate: func(s *proptest.Spec[*counter]) { s.Observe = nil }},
		{name: "negative Cases", mutate: func(s *proptest.Spec[*counter]) { s.Cases = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := counterSpec()
			tc.mutate(&s)
			if _, err := proptest.Run(s, proptest.Options{Seed: 1}); !errors.Is(err, proptest.ErrSpec) {
				t.Errorf("Run: err = %v, want ErrSpec", err)
			}
			rec := &recorder{name: t.Name()}
			proptest.Check(rec, s)
			if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "invalid spec") {
				t.Errorf("Check reported %q, want one invalid spec error", rec.errors)
			}
		})
	}
	if f, err := proptest.Run(valid, proptest.Options{Seed: 1, Cases: 10}); err != nil || len(f) != 0 {
		t.Errorf("valid spec: failures %v, err %v", f, err)
	}
}

// The same seed finds the same failure and shrinks it the same way: that is
// what makes a printed seed replay a failure.
func TestSeedReplaysFailure(t *testing.T) {
	run := func() []proptest.Failure {
		f, err := proptest.Run(sumCounterSpec(), proptest.Options{Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := run(), run()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("failures: %d then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			t.Errorf("seed 42 replayed differently:\n%s\n---\n%s", a[i], b[i])
		}
	}
	if a[0].Law != proptest.LawIdempotent || a[0].Steps != 1 || a[0].Seed != 42 {
		t.Errorf("first failure: law %s, %d steps, seed %d; want merge-idempotent shrunk to 1 step, seed 42:\n%s",
			a[0].Law, a[0].Steps, a[0].Seed, a[0])
	}
}

func TestCheckReadsEnvironment(t *testing.T) {
	t.Setenv(proptest.EnvSeed, "4242")
	t.Setenv(proptest.EnvCases, "30")
	rec := &recorder{name: "TestX"}
	proptest.Check(rec, sumCounterSpec())
	if len(rec.errors) == 0 {
		t.Fatal("no failure reported")
	}
	for _, want := range []string{"seed 4242", "CONVERGE_PROPTEST_SEED=4242 go test -run '^TestX$'"} {
		if !strings.Contains(rec.errors[0], want) {
			t.Errorf("report lacks %q:\n%s", want, rec.errors[0])
		}
	}

	t.Setenv(proptest.EnvSeed, "soon")
	rec = &recorder{name: "TestX"}
	proptest.Check(rec, counterSpec())
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], proptest.EnvSeed) {
		t.Errorf("bad %s: reported %q", proptest.EnvSeed, rec.errors)
	}
}

// Laws that do not apply are skipped, and said to be.
func TestCheckSkipsLawsThatDoNotApply(t *testing.T) {
	rec := &recorder{name: t.Name()}
	proptest.Check(rec, registerSpec("register", func() *register { return &register{} }))
	if len(rec.errors) > 0 {
		t.Fatalf("errors: %q", rec.errors)
	}
	logs := strings.Join(rec.logs, "\n")
	for _, law := range []proptest.Law{proptest.LawReportsChange, proptest.LawEncodingRoundTrip, proptest.LawEncodingDeterministic, proptest.LawModel} {
		if !strings.Contains(logs, string(law)+" skipped") {
			t.Errorf("no skip logged for %s:\n%s", law, logs)
		}
	}
}

// Contract breaks inside Apply are failures, shrunk and reported like the
// rest, not crashes of the test.
func TestCheckReportsBrokenOps(t *testing.T) {
	tests := []struct {
		name  string
		apply func(c *counter, at proptest.Site, n uint64) (*counter, error)
		want  string
	}{
		{
			name: "panic",
			apply: func(c *counter, at proptest.Site, n uint64) (*counter, error) {
				if n > 50 {
					panic("too big")
				}
				return c.inc(at.Replica, n), nil
			},
			want: "panic: too big",
		},
		{
			name: "nil delta",
			apply: func(c *counter, at proptest.Site, n uint64) (*counter, error) {
				c.inc(at.Replica, n)
				return nil, nil
			},
			want: "returned a nil delta",
		},
		{
			name: "replica as delta",
			apply: func(c *counter, at proptest.Site, n uint64) (*counter, error) {
				c.inc(at.Replica, n)
				return c, nil
			},
			want: "returned the replica itself",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := counterSpec()
			s.Ops = []proptest.Op[*counter]{proptest.OpOf("inc", gen.UInt64Range(1, 100), tc.apply)}
			f, err := proptest.Run(s, proptest.Options{Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(f) == 0 {
				t.Fatal("no failure")
			}
			if !strings.Contains(f[0].Reason, tc.want) {
				t.Errorf("reason %q lacks %q", f[0].Reason, tc.want)
			}
			if f[0].Steps != 1 {
				t.Errorf("shrunk to %d steps, want 1:\n%s", f[0].Steps, f[0])
			}
		})
	}
}
