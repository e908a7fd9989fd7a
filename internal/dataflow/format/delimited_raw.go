package format

import (
	"bufio"
	"context"
	"errors"
	"io"
	"unicode/utf8"

	"golang.org/x/text/transform"

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
	bw := bufio.NewWriterSize(f, 256<<10)
	zw, err := encode(bw, t.Codec, t.level, t.entryName)
	if err != nil {
		f.Abort()
		return nil, err
	}
	w := &textWriter{t: t, f: f, bw: bw, zw: zw, out: zw}
	if t.encoding != nil {
		w.enc = transform.NewWriter(zw, t.encoding.NewEncoder())
		w.out = w.enc
	}
	return &RawWriter{w: w}, nil
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
// quoted (COPY leaves those bare). It holds one unquoted field at most.
type CSVRewriter struct {
	dst   io.Writer
	s     TextSyntax
	q, e  byte
	rowCh byte // s.Row when one character other than \n, else 0
	out   []byte
	field []byte // the unquoted field being read
	// inQuote: inside a quoted field; escaped: the last byte was an
	// escape inside one (with e == q: a quote that may end the field).
	inQuote, escaped bool
	// N counts bytes written.
	N int64
}

// NewCSVRewriter rewrites into dst; s's delimiter, quote and escape must
// be ASCII and the quote not empty (see CanRewrite).
func NewCSVRewriter(dst io.Writer, s TextSyntax) *CSVRewriter {
	c := &CSVRewriter{dst: dst, s: s, q: byte(s.Quote), e: byte(s.Escape), out: make([]byte, 0, 64<<10)}
	if len(s.Row) == 1 && s.Row != "\n" {
		c.rowCh = s.Row[0]
	}
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
	for _, b := range p {
		switch {
		case c.inQuote:
			c.quoted(b)
		case b == c.q && len(c.field) == 0:
			c.inQuote = true
			c.out = append(c.out, b)
		case b == byte(c.s.Delim):
			c.endField()
			c.out = append(c.out, b)
		case b == '\n':
			c.endField()
			c.out = append(c.out, c.s.Row...)
		default:
			c.field = append(c.field, b)
		}
		if len(c.out) >= 64<<10 {
			if err := c.flush(); err != nil {
				return 0, err
			}
		}
	}
	return len(p), nil
}

// quoted takes a byte of a quoted field (copied through as it is).
func (c *CSVRewriter) quoted(b byte) {
	if c.escaped {
		c.escaped = false
		if c.e == c.q && b != c.q { // the quote before ended the field
			c.inQuote = false
			_, _ = c.Write([]byte{b})
			return
		}
		c.out = append(c.out, b)
		return
	}
	if b == c.e {
		c.escaped = true
		if c.e == c.q {
			c.out = append(c.out, b)
			return
		}
	} else if b == c.q {
		c.inQuote = false
	}
	c.out = append(c.out, b)
}

// endField writes the unquoted field, quoted when it holds the escape
// character or the row delimiter.
func (c *CSVRewriter) endField() {
	need := false
	for _, b := range c.field {
		if b == c.e || (c.rowCh != 0 && b == c.rowCh) || b == '\r' {
			need = true
			break
		}
	}
	if !need {
		c.out = append(c.out, c.field...)
	} else {
		c.out = append(c.out, c.q)
		for _, b := range c.field {
			if b == c.e || b == c.q {
				c.out = append(c.out, c.e)
			}
			c.out = append(c.out, b)
		}
		c.out = append(c.out, c.q)
	}
	c.field = c.field[:0]
}

func (c *CSVRewriter) flush() error {
	n, err := c.dst.Write(c.out)
	c.N += int64(n)
	c.out = c.out[:0]
	return err
}

// Close ends the text: COPY ends every row with "\n", so anything left
// unterminated is an error.
func (c *CSVRewriter) Close() error {
	if c.escaped && c.e == c.q {
		c.escaped, c.inQuote = false, false
	}
	if c.inQuote || len(c.field) > 0 {
		return errors.New("delimited text ended inside a row")
	}
	return c.flush()
}
