package node

import "strings"

// Match selects the keys a watch receives: one key (Exact), a key and the
// keys below it (Prefix, with a '/' boundary), or every key starting with
// some bytes (RawPrefix). The zero Match matches every key.
type Match struct {
	kind  matchKind
	value string
}

type matchKind uint8

const (
	matchPrefix matchKind = iota // zero value: Prefix("") matches everything
	matchExact
	matchRaw
)

// Exact matches key and no other.
func Exact(key string) Match { return Match{kind: matchExact, value: key} }

// Prefix matches the keys below p, with '/' as the boundary: Prefix("claims")
// matches "claims" and "claims/7", not "claims-archive". A p ending in '/'
// matches the keys that start with it ("claims/" matches "claims/7", not
// "claims"); Prefix("") matches every key. Use RawPrefix to match bytes.
func Prefix(p string) Match { return Match{kind: matchPrefix, value: p} }

// RawPrefix matches every key starting with p, byte for byte:
// RawPrefix("claims") matches "claims-archive" too.
func RawPrefix(p string) Match { return Match{kind: matchRaw, value: p} }

// Matches reports whether m selects key.
func (m Match) Matches(key string) bool {
	switch m.kind {
	case matchExact:
		return key == m.value
	case matchRaw:
		return strings.HasPrefix(key, m.value)
	}
	p := m.value
	if p == "" || strings.HasSuffix(p, "/") {
		return strings.HasPrefix(key, p)
	}
	return key == p || (strings.HasPrefix(key, p) && key[len(p)] == '/')
}

// String describes m: "exact:k", "prefix:p" or "raw:p".
func (m Match) String() string {
	switch m.kind {
	case matchExact:
		return "exact:" + m.value
	case matchRaw:
		return "raw:" + m.value
	}
	return "prefix:" + m.value
}
