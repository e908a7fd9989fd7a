package serving

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The worker protocol: length-prefixed frames over a Unix socket pair,
// written by worker.py and by this file. A frame is
//
//	u32 length | u8 type | u8 flags | u16 status | u64 id | payload
//
// big-endian, where length counts everything after itself. It is not HTTP:
// the front end has parsed the request already, and a frame costs a few
// bytes and one read.
const (
	frameHeader = 16              // bytes before the payload
	frameFixed  = frameHeader - 4 // bytes the length counts besides the payload
	maxFrame    = 256 << 20       // largest payload worker.py accepts, plus the header
	maxPayload  = maxFrame - frameFixed
)

// Frame types.
const (
	frameReady      byte = 1 // worker -> server: init() done
	frameRequest    byte = 2 // server -> worker: score the payload
	frameReply      byte = 3 // worker -> server: the answer, Status set
	framePing       byte = 4 // server -> worker: probe
	framePong       byte = 5 // worker -> server: probe answered
	frameInitFailed byte = 6 // worker -> server: loading the model failed; payload is the traceback
)

// flagMore marks a request frame followed by more of the same batch.
const flagMore byte = 1

// errFrameTooLarge is returned for a frame longer than maxFrame.
var errFrameTooLarge = errors.New("frame too large")

// frame is one message of the worker protocol.
type frame struct {
	Type    byte
	Flags   byte
	Status  uint16
	ID      uint64
	Payload []byte
}

// header returns the encoded header of f.
func (f frame) header() [frameHeader]byte {
	var h [frameHeader]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(frameFixed+len(f.Payload)))
	h[4], h[5] = f.Type, f.Flags
	binary.BigEndian.PutUint16(h[6:8], f.Status)
	binary.BigEndian.PutUint64(h[8:16], f.ID)
	return h
}

// appendFrame appends the encoding of f to b.
func appendFrame(b []byte, f frame) []byte {
	h := f.header()
	b = append(b, h[:]...)
	return append(b, f.Payload...)
}

// writeFrame writes f to w, buffered; the caller flushes.
func writeFrame(w *bufio.Writer, f frame) error {
	if len(f.Payload) > maxPayload {
		return fmt.Errorf("write frame: %w (%d bytes)", errFrameTooLarge, len(f.Payload))
	}
	h := f.header()
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(f.Payload)
	return err
}

// readFrame reads one frame. A clean end before a frame is io.EOF; an end
// inside one is io.ErrUnexpectedEOF; a length out of bounds is an error
// wrapping errFrameTooLarge, after which the stream cannot be trusted.
func readFrame(r io.Reader) (frame, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(h[0:4])
	if n < frameFixed || n > maxFrame {
		return frame{}, fmt.Errorf("read frame: length %d: %w", n, errFrameTooLarge)
	}
	f := frame{Type: h[4], Flags: h[5], Status: binary.BigEndian.Uint16(h[6:8]), ID: binary.BigEndian.Uint64(h[8:16])}
	size := int(n - frameFixed)
	switch {
	case size == 0:
	case size <= 1<<20:
		f.Payload = make([]byte, size)
		if _, err := io.ReadFull(r, f.Payload); err != nil {
			return frame{}, unexpected(err)
		}
	default:
		// Grow with what arrives, so a lying length cannot make one
		// allocation of hundreds of megabytes.
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, int64(size)); err != nil {
			return frame{}, unexpected(err)
		}
		f.Payload = buf.Bytes()
	}
	return f, nil
}

// unexpected turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
