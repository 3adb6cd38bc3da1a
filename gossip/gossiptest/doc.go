// Package gossiptest has helpers for testing code built on package gossip:
// a fake Replica (a grow-only set of strings per key), an in-memory memberlist
// network that can drop packets and partition nodes and that runs inside
// testing/synctest, and a lossy wrapper for real transports.
package gossiptest
