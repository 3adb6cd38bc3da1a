package gossip

import "strings"

// joinError is memberlist's Join error on one line. memberlist returns a
// go-multierror, whose text is a list ("1 error occurred:\n\t* Failed to
// join ...\n\n") that breaks a log line or a command's one-line message.
type joinError struct{ err error }

func (e joinError) Error() string { return oneLine(e.err.Error()) }
func (e joinError) Unwrap() error { return e.err }

// oneLine joins a multierror's items with "; ", dropping its "N errors
// occurred:" heading.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasSuffix(l, "occurred:") {
			continue
		}
		parts = append(parts, strings.TrimPrefix(l, "* "))
	}
	return strings.Join(parts, "; ")
}

// joinOne joins one address through memberlist, with a one-line error.
func (g *Gossip) joinOne(addr string) (int, error) {
	n, err := g.ml.Join([]string{addr})
	if err != nil {
		err = joinError{err}
	}
	return n, err
}
