package proptest

import "errors"

// ErrSpec is returned (wrapped, with what exactly is wrong) by Run, and
// reported by Check, when a Spec cannot be checked: no constructor, no
// operations, an operation without Apply, a model without Observe.
var ErrSpec = errors.New("proptest: invalid spec")
