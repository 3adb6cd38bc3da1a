package proptest_test

import (
	"testing"

	"github.com/converge-crdt/converge/proptest"
)

// The reference types obey every law.

func TestLawsReferenceCounter(t *testing.T) { proptest.Check(t, counterSpec()) }

func TestLawsReferenceRegister(t *testing.T) {
	proptest.Check(t, registerSpec("register", func() *register { return &register{} }))
}

func TestLawsReferenceORSet(t *testing.T) { proptest.Check(t, orsetSpec("orset", newORSet)) }
