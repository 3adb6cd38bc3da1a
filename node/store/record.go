package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// frameVersion is the first byte of every record. Part of the on-disk
// format: never renumber.
const frameVersion = 1

// frameHeader is the size of a record's frame: version, tag (2), CRC (4).
const frameHeader = 1 + 2 + 4

// Bucket IDs mixed into each record's CRC, so a record copied under another
// bucket or key fails its check. Part of the on-disk format.
const (
	idMeta   = 'm'
	idEpochs = 'e'
	idState  = 's'
	idLog    = 'l'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func recordCRC(bucket byte, key []byte, seq uint64, tag uint16, payload []byte) uint32 {
	var hdr [1 + 8 + 2]byte
	hdr[0] = bucket
	binary.BigEndian.PutUint64(hdr[1:], seq)
	binary.BigEndian.PutUint16(hdr[9:], tag)
	c := crc32.Update(0, castagnoli, hdr[:])
	c = crc32.Update(c, castagnoli, key)
	return crc32.Update(c, castagnoli, payload)
}

// frame encodes a record.
func frame(bucket byte, key []byte, seq uint64, tag uint16, payload []byte) []byte {
	b := make([]byte, frameHeader, frameHeader+len(payload))
	b[0] = frameVersion
	binary.BigEndian.PutUint16(b[1:], tag)
	binary.BigEndian.PutUint32(b[3:], recordCRC(bucket, key, seq, tag, payload))
	return append(b, payload...)
}

// unframe checks a record and returns its tag and payload (aliasing b).
func unframe(bucket byte, key []byte, seq uint64, b []byte) (uint16, []byte, error) {
	if len(b) < frameHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte frame", ErrBadRecord, len(b), frameHeader)
	}
	if b[0] != frameVersion {
		return 0, nil, fmt.Errorf("%w: frame version %d, want %d", ErrBadRecord, b[0], frameVersion)
	}
	tag := binary.BigEndian.Uint16(b[1:])
	payload := b[frameHeader:]
	if got, want := binary.BigEndian.Uint32(b[3:]), recordCRC(bucket, key, seq, tag, payload); got != want {
		return 0, nil, fmt.Errorf("%w: checksum %08x, content gives %08x", ErrBadRecord, got, want)
	}
	return tag, payload, nil
}

// logKey is a log entry's bbolt key: uvarint(len(key)), key, seq (8 bytes,
// big-endian), so one key's entries are contiguous and ordered by seq.
func logKey(key string, seq uint64) []byte {
	b := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+len(key)+8), uint64(len(key)))
	b = append(b, key...)
	return binary.BigEndian.AppendUint64(b, seq)
}

// logPrefix is the prefix of key's log entries.
func logPrefix(key string) []byte {
	k := logKey(key, 0)
	return k[:len(k)-8]
}

// parseLogKey splits a log entry's bbolt key.
func parseLogKey(b []byte) (key string, seq uint64, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || w != len(binary.AppendUvarint(nil, n)) || n > uint64(len(b)) || uint64(len(b)-w) != n+8 {
		return "", 0, fmt.Errorf("%w: malformed log key %x", ErrBadRecord, clip(b))
	}
	return string(b[w : w+int(n)]), binary.BigEndian.Uint64(b[w+int(n):]), nil
}

// clip shortens bytes quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
