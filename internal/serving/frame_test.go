package serving

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []frame{
		{Type: frameRequest, ID: 1, Payload: []byte(`{"data":[[1,2,3]]}`)},
		{Type: frameRequest, Flags: flagMore, ID: 1<<40 + 7, Payload: []byte("x")},
		{Type: frameReply, Status: 500, ID: 9, Payload: []byte(`{"error":{}}`)},
		{Type: framePing, ID: pingBit | 3},
		{Type: frameReady, Payload: []byte(`{"pid": 1}`)},
		{Type: frameReply, Status: 200, ID: 2, Payload: bytes.Repeat([]byte("a"), 3<<20)},
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	for _, f := range tests {
		if err := writeFrame(w, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := appendFrame(nil, tests[0]); !bytes.Equal(got, buf.Bytes()[:len(got)]) {
		t.Fatalf("appendFrame and writeFrame disagree")
	}
	for i, want := range tests {
		got, err := readFrame(&buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != want.Type || got.Flags != want.Flags || got.Status != want.Status || got.ID != want.ID || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("frame %d: got %+v, want %+v", i, got.Type, want.Type)
		}
	}
	if _, err := readFrame(&buf); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadFrameErrors(t *testing.T) {
	t.Parallel()
	valid := appendFrame(nil, frame{Type: frameReply, ID: 1, Payload: []byte("hello")})
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, io.EOF},
		{"short header", valid[:7], io.ErrUnexpectedEOF},
		{"short payload", valid[:len(valid)-2], io.ErrUnexpectedEOF},
		{"length below the header", []byte{0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, errFrameTooLarge},
		{"length too large", []byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, errFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readFrame(bytes.NewReader(tt.input))
			if !errors.Is(err, tt.want) {
				t.Fatalf("readFrame = %v, want %v", err, tt.want)
			}
		})
	}
	var big bufio.Writer
	if err := writeFrame(&big, frame{Payload: make([]byte, maxPayload+1)}); !errors.Is(err, errFrameTooLarge) {
		t.Fatalf("writeFrame of a too large payload = %v", err)
	}
}

// FuzzReadFrame checks that no input makes the decoder panic, and that what
// it decodes encodes back to the bytes it read.
func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, frame{Type: frameReply, Status: 200, ID: 1, Payload: []byte(`[1]`)}))
	f.Add(appendFrame(appendFrame(nil, frame{Type: framePong, ID: pingBit}), frame{Type: frameReady}))
	f.Add([]byte{0, 0, 0, 12})
	f.Add([]byte(strings.Repeat("\xff", 20)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		consumed := 0
		for {
			fr, err := readFrame(r)
			if err != nil {
				return
			}
			enc := appendFrame(nil, fr)
			if !bytes.Equal(enc, data[consumed:consumed+len(enc)]) {
				t.Fatalf("frame re-encodes differently")
			}
			consumed += len(enc)
		}
	})
}
