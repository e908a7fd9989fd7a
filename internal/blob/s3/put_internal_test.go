package s3

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// TestFillBoundsMemory: a part buffer grows with what it reads, never past
// the part size, and is reused from part to part.
func TestFillBoundsMemory(t *testing.T) {
	t.Parallel()
	const part = 5 << 20
	small, eof, err := fill(nil, bytes.NewReader(make([]byte, 100)), part)
	if err != nil || !eof || len(small) != 100 || cap(small) > 64<<10 {
		t.Errorf("small: len %d cap %d eof %v err %v", len(small), cap(small), eof, err)
	}
	// One byte a read, as a slow network would give them.
	r := iotest.OneByteReader(io.LimitReader(zeros{}, 2*part+7))
	buf, eof, err := fill(nil, io.LimitReader(zeros{}, 2*part+7), part)
	if err != nil || eof || len(buf) != part || cap(buf) != part {
		t.Fatalf("first part: len %d cap %d eof %v err %v", len(buf), cap(buf), eof, err)
	}
	first := &buf[0]
	buf, eof, err = fill(buf, r, part)
	if err != nil || eof || len(buf) != part || &buf[0] != first {
		t.Fatalf("second part: len %d eof %v err %v, reused %v", len(buf), eof, err, &buf[0] == first)
	}
	if _, err := io.CopyN(io.Discard, r, part); err != nil {
		t.Fatal(err)
	}
	buf, eof, err = fill(buf, r, part)
	if err != nil || !eof || len(buf) != 7 || cap(buf) != part {
		t.Errorf("last part: len %d cap %d eof %v err %v", len(buf), cap(buf), eof, err)
	}
}

// zeros reads zero bytes forever.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
