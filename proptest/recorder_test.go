package proptest_test

import (
	"fmt"
	"strings"

	"github.com/converge-crdt/converge/proptest"
)

// recorder is a fake testing.TB: it keeps what Check reports instead of
// failing the test, so that tests of the kit can assert that a broken type
// was reported, with the right law named.
type recorder struct {
	name   string
	errors []string
	logs   []string
}

var _ proptest.TB = (*recorder)(nil)

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }

func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// violated reports whether some error names law as violated.
func (r *recorder) violated(law proptest.Law) bool {
	for _, e := range r.errors {
		if strings.Contains(e, " violates "+string(law)+" ") {
			return true
		}
	}
	return false
}

// laws lists the laws the errors name, in order.
func (r *recorder) laws() []proptest.Law {
	var out []proptest.Law
	for _, law := range proptest.Laws() {
		if r.violated(law) {
			out = append(out, law)
		}
	}
	return out
}
