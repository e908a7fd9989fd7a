package format

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// MaxRecordBytes bounds one record of a delimited text file, so an
// unclosed quote cannot pull a whole file into memory.
const MaxRecordBytes = 16 << 20

// dialect is how a delimited text file separates and quotes fields.
type dialect struct {
	delim  rune
	quote  rune   // 0: no quoting
	escape rune   // 0: none; == quote: a doubled quote
	row    string // "" on read: any of \r\n, \n, \r
}

// scanner splits a stream of runes into records of fields.
type scanner struct {
	d      dialect
	r      *bufio.Reader
	buf    []byte
	ends   []int  // end offset of each field in buf
	quoted []bool // whether each field was quoted
	fields []string
	line   int64 // records read
	// stop and stopQuoted mark the bytes that end a run of plain bytes
	// outside and inside quotes, for the fast path (nil: none).
	stop, stopQuoted *[256]bool
}

func newScanner(r io.Reader, d dialect) *scanner {
	s := &scanner{d: d, r: bufio.NewReaderSize(r, 256<<10)}
	specials := []rune{d.delim, d.quote, d.escape, '\r', '\n'}
	if d.row != "" {
		first, _ := utf8.DecodeRuneInString(d.row)
		specials = append(specials, first)
	}
	for _, r := range specials {
		if r >= utf8.RuneSelf {
			return s // a non-ASCII special: every rune takes the slow path
		}
	}
	s.stop, s.stopQuoted = new([256]bool), new([256]bool)
	for _, r := range specials {
		if r != 0 {
			s.stop[r] = true
		}
	}
	for _, r := range []rune{d.quote, d.escape} {
		if r != 0 {
			s.stopQuoted[r] = true
		}
	}
	return s
}

// run appends the plain bytes that follow in the read buffer, up to the
// first byte in stop: most of a field is copied without decoding runes.
func (s *scanner) run(stop *[256]bool) error {
	if stop == nil {
		return nil
	}
	b, _ := s.r.Peek(s.r.Buffered())
	i := 0
	for i < len(b) && !stop[b[i]] {
		i++
	}
	if len(s.buf)+i > MaxRecordBytes {
		return fmt.Errorf("record %d is longer than %d bytes (an unclosed quote?)", s.line+1, MaxRecordBytes)
	}
	s.buf = append(s.buf, b[:i]...)
	_, _ = s.r.Discard(i)
	return nil
}

// errUnclosed is a quote that no closing quote matches.
var errUnclosed = errors.New("a quoted field has no closing quote")

// next returns the fields of the next record (valid until the next call)
// and whether each was quoted; io.EOF after the last.
func (s *scanner) next() ([]string, []bool, error) {
	s.buf, s.ends, s.quoted = s.buf[:0], s.ends[:0], s.quoted[:0]
	first := true
	for {
		end, quoted, err := s.field(first)
		if err == io.EOF && first && len(s.buf) == 0 && !quoted {
			return nil, nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		first = false
		s.ends = append(s.ends, len(s.buf))
		s.quoted = append(s.quoted, quoted)
		if err == io.EOF || end {
			break
		}
	}
	s.line++
	if !utf8.Valid(s.buf) {
		s.fixUTF8()
	}
	str := string(s.buf)
	s.fields = s.fields[:0]
	start := 0
	for _, e := range s.ends {
		s.fields = append(s.fields, str[start:e])
		start = e
	}
	return s.fields, s.quoted, nil
}

// field reads one field into buf; end reports the record ended after it.
func (s *scanner) field(first bool) (end, quoted bool, err error) {
	r, err := s.read()
	if err != nil {
		return true, false, err
	}
	if s.d.quote != 0 && r == s.d.quote {
		if err := s.quotedField(); err != nil {
			return true, true, err
		}
		quoted = true
		if r, err = s.read(); err != nil {
			return true, true, err
		}
	}
	for {
		switch {
		case r == s.d.delim:
			return false, quoted, nil
		case s.rowEnd(r):
			return true, quoted, nil
		case s.d.escape != 0 && s.d.escape != s.d.quote && r == s.d.escape:
			if err := s.escaped(); err != nil {
				return true, quoted, err
			}
		default:
			if err := s.add(r); err != nil {
				return true, quoted, err
			}
			if err := s.run(s.stop); err != nil {
				return true, quoted, err
			}
		}
		if r, err = s.read(); err != nil {
			return true, quoted, err
		}
	}
}

// quotedField reads up to and including the closing quote.
func (s *scanner) quotedField() error {
	for {
		r, err := s.read()
		if err == io.EOF {
			return fmt.Errorf("record %d: %w", s.line+1, errUnclosed)
		}
		if err != nil {
			return err
		}
		switch {
		case r == s.d.quote && s.d.escape == s.d.quote:
			if nr, err := s.read(); err == nil && nr == s.d.quote {
				if err := s.add(r); err != nil {
					return err
				}
				continue
			} else if err == nil {
				_ = s.r.UnreadRune()
			}
			return nil
		case r == s.d.quote:
			return nil
		case s.d.escape != 0 && r == s.d.escape:
			if err := s.escaped(); err != nil {
				return err
			}
		default:
			if err := s.add(r); err != nil {
				return err
			}
			if err := s.run(s.stopQuoted); err != nil {
				return err
			}
		}
	}
}

// escaped handles the rune after an escape character: a quote, an
// escape, a delimiter or a row delimiter is kept literally, anything else
// keeps the escape too (so C:\data survives).
func (s *scanner) escaped() error {
	r, err := s.read()
	if err == io.EOF {
		return s.add(s.d.escape)
	}
	if err != nil {
		return err
	}
	if r != s.d.quote && r != s.d.escape && r != s.d.delim && !s.isRowRune(r) {
		if err := s.add(s.d.escape); err != nil {
			return err
		}
	}
	return s.add(r)
}

func (s *scanner) isRowRune(r rune) bool {
	if s.d.row == "" {
		return r == '\n' || r == '\r'
	}
	first, _ := utf8.DecodeRuneInString(s.d.row)
	return r == first
}

// rowEnd reports whether r (just read) begins the row delimiter, and
// consumes the rest of it.
func (s *scanner) rowEnd(r rune) bool {
	switch s.d.row {
	case "":
		if r == '\r' {
			if nr, err := s.read(); err == nil && nr != '\n' {
				_ = s.r.UnreadRune()
			}
			return true
		}
		return r == '\n'
	case "\r\n":
		if r != '\r' {
			return false
		}
		if nr, err := s.read(); err == nil {
			if nr == '\n' {
				return true
			}
			_ = s.r.UnreadRune()
		}
		return false
	}
	first, _ := utf8.DecodeRuneInString(s.d.row)
	return r == first
}

// fixUTF8 replaces each byte of buf that is not part of valid UTF-8 with
// U+FFFD, field by field, as decoding rune by rune does, moving the field
// ends to match.
func (s *scanner) fixUTF8() {
	out := make([]byte, 0, len(s.buf)+16)
	start := 0
	for f, end := range s.ends {
		for i := start; i < end; {
			r, n := utf8.DecodeRune(s.buf[i:end])
			out = utf8.AppendRune(out, r)
			i += n
		}
		start = end
		s.ends[f] = len(out)
	}
	s.buf = out
}

func (s *scanner) read() (rune, error) {
	r, _, err := s.r.ReadRune()
	return r, err
}

func (s *scanner) add(r rune) error {
	if len(s.buf) >= MaxRecordBytes {
		return fmt.Errorf("record %d is longer than %d bytes (an unclosed quote?)", s.line+1, MaxRecordBytes)
	}
	if r < utf8.RuneSelf {
		s.buf = append(s.buf, byte(r))
	} else {
		s.buf = utf8.AppendRune(s.buf, r)
	}
	return nil
}
