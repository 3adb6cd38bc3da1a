package proptest

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Environment variables Check reads. Flags of the same meaning win.
const (
	// EnvSeed replays a run: CONVERGE_PROPTEST_SEED=<seed from a failure>.
	EnvSeed = "CONVERGE_PROPTEST_SEED"
	// EnvLong=1 runs LongCases histories per law.
	EnvLong = "CONVERGE_PROPTEST_LONG"
	// EnvCases sets the number of histories per law.
	EnvCases = "CONVERGE_PROPTEST_CASES"
)

// Test flags, registered on the default flag set so that a test binary
// that imports proptest accepts them: go test ./... -args -proptest.long
var (
	seedFlag  = flag.Int64("proptest.seed", 0, "seed of proptest's generators, to replay a failure (default: from the clock; env "+EnvSeed+")")
	longFlag  = flag.Bool("proptest.long", false, fmt.Sprintf("run %d histories per law (env %s=1)", LongCases, EnvLong))
	casesFlag = flag.Int("proptest.cases", 0, "histories per law; overrides -proptest.long (env "+EnvCases+")")
)

// Options control one run of the laws. Check takes them from flags and the
// environment; Run takes them as given. Zero fields mean defaults.
type Options struct {
	// Seed is the seed the generators start from; each law derives its
	// own from it. Zero picks one from the clock. A failure prints the seed
	// that replays it.
	Seed int64
	// Cases is the number of histories per law; zero means Spec.Cases, or
	// DefaultCases.
	Cases int
}

// optionsFromEnv reads the flags and environment variables.
func optionsFromEnv() (Options, error) {
	var o Options
	if v := os.Getenv(EnvSeed); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("%w: %s=%q is not an integer", ErrSpec, EnvSeed, v)
		}
		o.Seed = s
	}
	if *seedFlag != 0 {
		o.Seed = *seedFlag
	}
	long := *longFlag
	if v := os.Getenv(EnvLong); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("%w: %s=%q is not a boolean", ErrSpec, EnvLong, v)
		}
		long = long || b
	}
	if long {
		o.Cases = LongCases
	}
	if v := os.Getenv(EnvCases); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, fmt.Errorf("%w: %s=%q is not a positive integer", ErrSpec, EnvCases, v)
		}
		o.Cases = n
	}
	if *casesFlag > 0 {
		o.Cases = *casesFlag
	}
	return o, nil
}

func (o Options) withDefaults(cases int) Options {
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	if o.Cases <= 0 {
		o.Cases = cases
	}
	if o.Cases <= 0 {
		o.Cases = DefaultCases
	}
	return o
}
