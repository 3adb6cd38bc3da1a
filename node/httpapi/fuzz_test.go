package httpapi

import (
	"errors"
	"strings"
	"testing"
)

func FuzzDecodeWrite(f *testing.F) {
	for _, s := range []string{
		`{"type":"GCounter","op":"inc","by":1}`,
		`{"type":"PNCounter","op":"dec","by":"9"}`,
		`{"type":"ORSet","op":"add","element":{"a":[1,2,{"b":null}]}}`,
		`{"type":"LWWMap","op":"set","field":"k","value":"v"}`,
		`{"type":"LWWMap","op":"delete","field":"k"}`,
		`{"type":`, `[]`, `null`, `{"by":1e400}`, `{"type":"ORSet","op":"add","element":` + strings.Repeat("[", 100),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		wr, err := DecodeWrite(b)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		// An accepted write's values decode.
		for _, raw := range [][]byte{wr.Element, wr.Value} {
			if raw != nil {
				if _, err := decodeValue(raw); err != nil {
					t.Fatalf("accepted %q but its value does not decode: %v", b, err)
				}
			}
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"1-2", "18446744073709551615-0", "-", "1-", "a-b", "1-2-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error %v does not wrap ErrBadRequest", err)
			}
			return
		}
		back, err := ParseCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("%q parsed as %v, which round-trips to %v, %v", s, c, back, err)
		}
	})
}
