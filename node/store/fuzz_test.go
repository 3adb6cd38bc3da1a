package store

import "testing"

// FuzzRecord feeds arbitrary bytes to every decoder of stored bytes: the
// frame, log keys and quarantine entries. None may panic; a frame that
// passes must re-encode to the same bytes.
func FuzzRecord(f *testing.F) {
	f.Add([]byte{}, []byte("k"))
	f.Add(frame(idState, []byte("k"), 0, 3, []byte{0x93, 1, 1}), []byte("k"))
	f.Add(frame(idLog, logKey("k", 7), 7, 1, []byte("d")), logKey("k", 7))
	f.Add([]byte{1, 0, 1, 0, 0, 0, 0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, rec, key []byte) {
		if tag, p, err := unframe(idState, key, 0, rec); err == nil {
			if got := frame(idState, key, 0, tag, p); string(got) != string(rec) {
				t.Fatalf("frame(unframe(%x)) = %x", rec, got)
			}
		}
		if k, seq, err := parseLogKey(key); err == nil {
			if string(logKey(k, seq)) != string(key) {
				t.Fatalf("logKey(parseLogKey(%x)) differs", key)
			}
		}
		_, _ = decodeQuarantined(rec)
		_, _ = decodeEpoch(key, rec)
	})
}
