package format

import (
	"bytes"
	"context"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
)

// TextSyntax is how a DelimitedText dataset writes text: what a source
// that produces delimited text itself (PostgreSQL's COPY ... TO STDOUT)
// must be told to write the same bytes.
type TextSyntax struct {
	Delim, Quote, Escape rune
	// Row is the row delimiter written ("\r\n" unless set).
	Row    string
	Header bool
	Null   string
	// QuoteAll quotes every text field (quoteAllText); Plain is false
	// when an encoding other than UTF-8 is set.
	QuoteAll bool
	Plain    bool
}

// Syntax is the dataset's text syntax.
func (t *DelimitedText) Syntax() TextSyntax {
	return TextSyntax{Delim: t.d.delim, Quote: t.d.quote, Escape: t.d.escape, Row: t.writeRow, Header: t.Header,
		Null: t.NullValue, QuoteAll: t.QuoteAll, Plain: t.encoding == nil}
}

// RawWriter writes text already delimited to a file, through the
// dataset's compression and encoding; nothing is visible until Commit.
type RawWriter struct{ w *textWriter }

// NewRawWriter returns a RawWriter to f (no header is written: the
// text brings its own).
func (t *DelimitedText) NewRawWriter(f files.File) (*RawWriter, error) {
	sink, err := t.openSink(f)
	if err != nil {
		return nil, err
	}
	return &RawWriter{w: &textWriter{t: t, textSink: sink}}, nil
}

// Write writes text as it is.
func (r *RawWriter) Write(p []byte) (int, error) {
	if r.w.done {
		return 0, errClosed
	}
	return r.w.out.Write(p)
}

// Commit flushes and commits the file.
func (r *RawWriter) Commit() error { return r.w.Commit(context.Background()) }

// Abort drops the file.
func (r *RawWriter) Abort() error { return r.w.Abort(context.Background()) }

// CSVRewriter turns CSV as PostgreSQL's COPY writes it — fields quoted
// with s.Quote only when they hold the delimiter, the quote, a line end
// or match the null string, quotes and escapes inside quoted fields
// preceded by s.Escape, rows ended by "\n" — into the bytes a
// DelimitedText writer with syntax s writes: rows ended by s.Row, and
// unquoted fields that hold the escape character or s.Row's character
// quoted (COPY leaves those bare). It copies runs of plain bytes at once
// and holds one unquoted field at most.
type CSVRewriter struct {
	dst  io.Writer
	s    TextSyntax
	q, e byte
	// bare marks the bytes that end a run outside quotes, quoted those
	// inside; needQuote those that make a bare field need quotes.
	bare, quoted, needQuote [256]bool
	out                     []byte
	tmp                     []byte
	// start is where the bare field being read begins in out; must says
	// it needs quoting. inQuote: inside a quoted field; escaped: the last
	// byte was an escape inside one (with e == q: a quote that may end
	// the field).
	start            int
	must             bool
	inQuote, escaped bool
	// kinds mends columns; col is the field's index in its row; header
	// is true while the header row (left alone) is read.
	kinds  []FieldKind
	col    int
	header bool
	// N counts bytes written.
	N int64
}

// FieldKind says how a column's text is mended: COPY writes some values
// otherwise than ciel's row path.
type FieldKind byte

// FieldSame is left alone; FieldBool turns t/f into True/False;
// FieldFloat writes an exponent with an upper-case E, and 1e-05 as
// 0.00001 (.NET's plain range starts at 1e-5); FieldOffset turns
// PostgreSQL's UTC "+00" into " +00:00".
const (
	FieldSame FieldKind = iota
	FieldBool
	FieldFloat
	FieldOffset
)

// NewCSVRewriter rewrites into dst, mending columns by kinds (nil for
// none); s's delimiter, quote and escape must be ASCII and the quote not
// empty (see CanRewrite).
func NewCSVRewriter(dst io.Writer, s TextSyntax, kinds []FieldKind) *CSVRewriter {
	c := &CSVRewriter{dst: dst, s: s, q: byte(s.Quote), e: byte(s.Escape), out: make([]byte, 0, 128<<10), kinds: kinds, header: s.Header}
	for _, b := range []byte{byte(s.Delim), c.q, '\n', c.e, '\r'} {
		c.bare[b] = true
	}
	c.needQuote[c.e], c.needQuote['\r'] = true, true
	if len(s.Row) == 1 && s.Row != "\n" {
		c.bare[s.Row[0]], c.needQuote[s.Row[0]] = true, true
	}
	c.quoted[c.q], c.quoted[c.e] = true, true
	return c
}

// CanRewrite reports whether COPY can be told s: single-byte ASCII
// delimiter, quote and escape, a quote set, and a null string free of
// them and of line ends.
func CanRewrite(s TextSyntax) bool {
	ascii := func(r rune) bool { return r > 0 && r < utf8.RuneSelf && r != '\r' && r != '\n' }
	if !ascii(s.Delim) || !ascii(s.Quote) || !ascii(s.Escape) || !s.Plain || s.QuoteAll {
		return false
	}
	if s.Row != "\r\n" && (len(s.Row) != 1 || s.Row[0] >= utf8.RuneSelf || s.Row[0] == byte(s.Delim) || s.Row[0] == byte(s.Quote)) {
		return false
	}
	for i := 0; i < len(s.Null); i++ {
		switch c := s.Null[i]; c {
		case byte(s.Delim), byte(s.Quote), byte(s.Escape), '\r', '\n':
			return false
		}
	}
	return utf8.ValidString(s.Null)
}

// Write rewrites p.
func (c *CSVRewriter) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		table := &c.bare
		if c.inQuote {
			table = &c.quoted
		}
		j := i
		if !c.escaped {
			for j < len(p) && !table[p[j]] {
				j++
			}
			c.out = append(c.out, p[i:j]...)
			if j == len(p) {
				break
			}
		}
		if c.inQuote {
			c.quotedByte(p[j])
		} else {
			c.bareByte(p[j])
		}
		i = j + 1
		if len(c.out) >= 64<<10 && (c.inQuote || c.start == len(c.out)) {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// bareByte takes a special byte outside quotes.
func (c *CSVRewriter) bareByte(b byte) {
	switch {
	case b == c.q && c.start == len(c.out):
		c.inQuote = true
		c.out = append(c.out, b)
	case b == byte(c.s.Delim):
		c.endField()
		c.out = append(c.out, b)
		c.start = len(c.out)
		c.col++
	case b == '\n':
		c.endField()
		c.out = append(c.out, c.s.Row...)
		c.start = len(c.out)
		c.col, c.header = 0, false
	default:
		c.must = c.must || c.needQuote[b]
		c.out = append(c.out, b)
	}
}

// quotedByte takes a quote or escape byte inside a quoted field (or the
// byte after an escape), copied through as it is.
func (c *CSVRewriter) quotedByte(b byte) {
	if c.escaped {
		c.escaped = false
		if c.e == c.q && b != c.q { // the quote before ended the field
			c.inQuote = false
			c.start = -1 // no bare field: what follows ends this one
			if c.bare[b] {
				c.bareByte(b)
			} else {
				c.out = append(c.out, b)
			}
			return
		}
		c.out = append(c.out, b)
		return
	}
	if b == c.e {
		c.escaped = true
	} else if b == c.q {
		c.inQuote = false
		c.start = -1
	}
	c.out = append(c.out, b)
}

// endField mends the bare field just read, and quotes it when it needs
// it.
func (c *CSVRewriter) endField() {
	if c.col < len(c.kinds) && c.kinds[c.col] != FieldSame && !c.header && c.start >= 0 && string(c.out[c.start:]) != c.s.Null {
		c.mend(c.kinds[c.col])
	}
	if !c.must || c.start < 0 {
		c.must = false
		return
	}
	c.must = false
	c.tmp = append(c.tmp[:0], c.out[c.start:]...)
	c.out = append(c.out[:c.start], c.q)
	for _, b := range c.tmp {
		if b == c.e || b == c.q {
			c.out = append(c.out, c.e)
		}
		c.out = append(c.out, b)
	}
	c.out = append(c.out, c.q)
}

// mend rewrites out[start:], a value of kind k.
func (c *CSVRewriter) mend(k FieldKind) {
	f := c.out[c.start:]
	switch k {
	case FieldBool:
		switch string(f) {
		case "t":
			c.out = append(c.out[:c.start], "True"...)
		case "f":
			c.out = append(c.out[:c.start], "False"...)
		}
	case FieldOffset:
		if n := len(f); n > 3 && (f[n-3] == '+' || f[n-3] == '-') && f[n-2] >= '0' && f[n-2] <= '9' {
			c.tmp = append(c.tmp[:0], f[n-3:]...)
			c.out = append(append(append(c.out[:c.start+n-3], ' '), c.tmp...), ":00"...)
		}
	case FieldFloat:
		i := bytes.IndexByte(f, 'e')
		if i < 0 {
			return
		}
		if string(f[i:]) == "e-05" {
			c.tmp = append(c.tmp[:0], f[:i]...)
			c.out = append(c.out[:c.start], plainE5(c.tmp)...)
			return
		}
		f[i] = 'E'
	}
}

// plainE5 writes m×10⁻⁵ (m "[-]d[.ddd]") in plain digits.
func plainE5(m []byte) []byte {
	var out []byte
	if len(m) > 0 && m[0] == '-' {
		out, m = append(out, '-'), m[1:]
	}
	out = append(out, "0.0000"...)
	for _, b := range m {
		if b != '.' {
			out = append(out, b)
		}
	}
	return out
}

func (c *CSVRewriter) flush() error {
	n, err := c.dst.Write(c.out)
	c.N += int64(n)
	c.out = c.out[:0]
	c.start = 0
	return err
}

// Close ends the text: COPY ends every row with "\n", so anything left
// unterminated is an error.
func (c *CSVRewriter) Close() error {
	if c.escaped && c.e == c.q {
		c.escaped, c.inQuote = false, false
	}
	if c.inQuote || (c.start >= 0 && c.start != len(c.out)) {
		return errors.New("delimited text ended inside a row")
	}
	return c.flush()
}
