// Package wire reads and writes the msgpack subset that converge puts on the
// wire and on disk, with every length checked before anything is allocated.
//
// Encoding goes through github.com/vmihailenco/msgpack/v5, which always
// picks the shortest form for an integer or length, so the same sequence of
// calls gives the same bytes. Decoding of converge's own structure uses
// Reader, a strict cursor over a byte slice: a length prefix larger than the
// bytes that remain is an error before any allocation, so a hostile 5-byte
// header cannot make us allocate gigabytes (msgpack v5.4.1 would). Values of
// user types (set elements, map keys and values) are first checked by
// Validate, which walks their structure with the same bounds and a depth
// limit, and only then handed to msgpack.Unmarshal.
package wire
