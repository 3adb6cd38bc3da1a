package proptest

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/prop"

	"github.com/converge-crdt/converge/crdt"
)

// TB is the part of testing.TB that Check uses. *testing.T, *testing.B and
// *testing.F implement it, and so can a recorder in a test of the kit.
type TB interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Check runs every law against spec and reports each violated one through
// t.Errorf, with the seed that replays it and the shrunk history. Given a
// *testing.T it runs each law as a subtest named after the law, so one law
// runs alone with -run 'TestName/law-name'. Laws that do not apply (the
// encoding laws for a type without MarshalBinary, the model law without a
// model, the change-report law for a type without MergeChanged) are
// skipped.
//
// Check reads the -proptest.seed, -proptest.cases and -proptest.long flags
// and the CONVERGE_PROPTEST_SEED, CONVERGE_PROPTEST_CASES and
// CONVERGE_PROPTEST_LONG environment variables.
func Check[T crdt.CRDT[T]](t TB, spec Spec[T]) {
	t.Helper()
	if err := spec.validate(); err != nil {
		t.Errorf("%v", err)
		return
	}
	opts, err := optionsFromEnv()
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	opts = opts.withDefaults(spec.Cases)
	t.Logf("proptest: %s: seed %d, %d histories per law", spec.name(), opts.Seed, opts.Cases)
	for _, law := range Laws() {
		if tt, ok := t.(*testing.T); ok {
			tt.Run(string(law), func(t *testing.T) {
				if why := skipReason(&spec, law); why != "" {
					t.Skip(why) // ends this law's subtest only
				}
				checkOne(t, &spec, law, opts)
			})
		} else {
			checkOne(t, &spec, law, opts)
		}
	}
}

func checkOne[T crdt.CRDT[T]](t TB, spec *Spec[T], law Law, opts Options) {
	t.Helper()
	if why := skipReason(spec, law); why != "" {
		// Not t.Skip: outside a law's own subtest it would end the caller.
		t.Logf("proptest: %s: %s skipped: %s", spec.name(), law, why)
		return
	}
	if f := checkLaw(spec, law, opts); f != nil {
		t.Errorf("%s\n  replay: %s=%d go test -run '%s'", f, EnvSeed, f.Seed, runPattern(t.Name()))
	}
}

// Run checks every applicable law against spec and returns the violated
// ones; it reads no flags or environment. The error is non-nil (wrapping
// ErrSpec) only when spec cannot be checked at all.
func Run[T crdt.CRDT[T]](spec Spec[T], opts Options) ([]Failure, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults(spec.Cases)
	var out []Failure
	for _, law := range Laws() {
		if skipReason(&spec, law) != "" {
			continue
		}
		if f := checkLaw(&spec, law, opts); f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}

// Failure describes one violated law.
type Failure struct {
	// Type is the Spec's name and Law the violated law.
	Type string
	Law  Law
	// Reason says what was unequal, with the states involved.
	Reason string
	// Seed replays the run (Options.Seed, -proptest.seed or
	// CONVERGE_PROPTEST_SEED); Passed counts the histories that passed
	// before this one.
	Seed   int64
	Passed int
	// Steps is the length of the shrunk history, Original that of the
	// history first found to fail.
	Steps, Original int
	// History is the shrunk history, one step per line, with the final
	// states of its replicas.
	History string
}

// String formats the failure as Check reports it.
func (f Failure) String() string {
	return fmt.Sprintf("proptest: %s violates %s (seed %d, after %d passing histories):\n  %s\n%s",
		f.Type, f.Law, f.Seed, f.Passed, strings.ReplaceAll(f.Reason, "\n", "\n  "), f.History)
}

func skipReason[T crdt.CRDT[T]](spec *Spec[T], law Law) string {
	c := &checker[T]{spec: spec}
	switch law {
	case LawEncodingRoundTrip:
		if !c.canDecode() {
			return "T does not implement encoding.BinaryMarshaler, or New() does not implement encoding.BinaryUnmarshaler"
		}
	case LawEncodingDeterministic:
		if !c.canEncode() {
			return "T does not implement encoding.BinaryMarshaler"
		}
	case LawReportsChange:
		if !c.canReportChange() {
			return "T does not implement crdt.ChangeReporter[T]"
		}
	case LawModel:
		if spec.Model == nil {
			return "no Model in the Spec"
		}
	case LawPruneValue, LawPruneStale, LawPruneMerge, LawCollectValue:
		return pruneSkipReason(spec, law)
	}
	return ""
}

// lawSeed gives each law its own stream of histories from one seed.
func lawSeed(seed int64, law Law) int64 {
	h := fnv.New64a()
	h.Write([]byte(law))
	return seed ^ int64(h.Sum64()>>1)
}

// checkLaw runs one law through gopter and describes the shrunk failure.
func checkLaw[T crdt.CRDT[T]](spec *Spec[T], law Law, opts Options) *Failure {
	c := &checker[T]{spec: spec}
	fn := lawFor[T](law)
	params := gopter.DefaultTestParametersWithSeed(lawSeed(opts.Seed, law))
	params.MinSuccessfulTests = opts.Cases
	params.MinSize = 0
	params.MaxSize = spec.maxSteps() + 1
	property := prop.ForAll(func(h history) *gopter.PropResult {
		if err := c.run(fn, h); err != nil {
			return &gopter.PropResult{Status: gopter.PropFalse, Labels: []string{err.Error()}}
		}
		return &gopter.PropResult{Status: gopter.PropTrue}
	}, genHistory(spec.Ops, spec.replicas()))
	res := property.Check(params)
	if res.Passed() {
		return nil
	}
	f := &Failure{Type: spec.name(), Law: law, Seed: opts.Seed, Passed: res.Succeeded}
	if len(res.Labels) > 0 {
		f.Reason = res.Labels[0]
	}
	if res.Error != nil {
		f.Reason = strings.TrimSpace(f.Reason + " " + res.Error.Error())
	}
	if len(res.Args) > 0 {
		if h, ok := res.Args[0].Arg.(history); ok {
			f.Steps = len(h)
			f.History = formatHistory(spec, h, law == LawModel)
		}
		if h, ok := res.Args[0].OrigArg.(history); ok {
			f.Original = len(h)
		}
		f.History = fmt.Sprintf("  shrunk from %d to %d steps; %s", f.Original, f.Steps, f.History)
	}
	return f
}

// formatHistory replays h, tracing each step, and prints the trace and the
// final states. causal replays it as the model law does.
func formatHistory[T crdt.CRDT[T]](spec *Spec[T], h history, causal bool) (out string) {
	s := newSim(spec, true)
	s.causal = causal
	var b strings.Builder
	fmt.Fprintf(&b, "replicas %s..%s start empty, and each operation's delta goes in flight to the others",
		s.ids[0], s.ids[len(s.ids)-1])
	if causal {
		b.WriteString(" (delivered causally)")
	}
	b.WriteString(":\n")
	var stopped string
	func() {
		defer func() {
			if r := recover(); r != nil {
				stopped = fmt.Sprintf("panic: %v", r)
			}
		}()
		for _, st := range h {
			if _, err := s.do(st); err != nil {
				stopped = err.Error()
				return
			}
		}
	}()
	for i, line := range s.trace {
		fmt.Fprintf(&b, "  %3d. %s\n", i+1, line)
	}
	if len(h) == 0 {
		b.WriteString("       (no steps)\n")
	}
	if stopped != "" {
		fmt.Fprintf(&b, "  replay stopped: %s\n", stopped)
		return b.String()
	}
	b.WriteString("  final states:\n")
	for i, x := range s.reps {
		fmt.Fprintf(&b, "    %s = %s", s.ids[i], show(x))
		if q := s.flight[i]; len(q) > 0 {
			var ev []string
			for _, e := range q {
				ev = append(ev, fmt.Sprintf("e%d", e+1))
			}
			fmt.Fprintf(&b, "  (deltas still in flight to it: %s)", strings.Join(ev, " "))
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// runPattern turns a test name into a -run pattern that selects it alone.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
