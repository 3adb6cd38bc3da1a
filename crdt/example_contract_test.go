package crdt_test

import (
	"fmt"

	"github.com/converge-crdt/converge/crdt"
)

// converged merges every replica into every other and reports whether
// they all end Equal: code written once against the contract works for
// every type, built-in or user-defined.
func converged[T crdt.CRDT[T]](replicas ...T) bool {
	for _, a := range replicas {
		for _, b := range replicas {
			a.Merge(b)
		}
	}
	for _, a := range replicas[1:] {
		if !a.Equal(replicas[0]) {
			return false
		}
	}
	return true
}

// The contract lets generic code merge and compare any CRDT.
func ExampleCRDT() {
	a, b, c := crdt.NewGCounter(), crdt.NewGCounter(), crdt.NewGCounter()
	_, _ = a.Inc("a", 1)
	_, _ = b.Inc("b", 2)
	_, _ = c.Inc("c", 3)
	fmt.Println(converged(a, b, c), a.Value())

	x, y := crdt.NewORSet[string](), crdt.NewORSet[string]()
	x.Add("x", "apple")
	y.Add("y", "pear")
	fmt.Println(converged(x, y), x.Len())
	// Output:
	// true 6
	// true 2
}

// PeekTag routes an encoded blob to its type without decoding it.
func ExamplePeekTag() {
	s := crdt.NewORSet[string]()
	s.Add("r1", "x")
	b, _ := s.MarshalBinary()
	tag, version, err := crdt.PeekTag(b)
	fmt.Println(tag, version, err)
	// Output: ORSet 1 <nil>
}
