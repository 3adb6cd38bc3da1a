// Package proptest checks that a CRDT obeys the laws of the crdt.CRDT
// contract, with property-based tests on github.com/leanovate/gopter.
package proptest
