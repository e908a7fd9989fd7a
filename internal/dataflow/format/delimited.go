package format

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// DelimitedText is the DelimitedText format: ADF's defaults are a comma,
// any line end on read and "\r\n" on write, '"' quotes escaped with '\',
// no header, UTF-8, and "" read as null.
type DelimitedText struct {
	d         dialect
	writeRow  string
	Header    bool
	NullValue string
	SkipLines int64
	QuoteAll  bool
	Codec     Codec
	level     int
	encoding  encoding.Encoding // nil: UTF-8
	encName   string
	extension string
}

func runeOf(props map[string]any, key, def string) (rune, error) {
	s, ok := props[key].(string)
	if !ok {
		if props[key] != nil {
			return 0, fmt.Errorf("%s: expected a string, got %T", key, props[key])
		}
		s = def
	}
	switch utf8.RuneCountInString(s) {
	case 0:
		return 0, nil
	case 1:
		r, _ := utf8.DecodeRuneInString(s)
		return r, nil
	}
	return 0, fmt.Errorf("%s %q: expected a single character", key, s)
}

func newDelimited(props, settings map[string]any) (*DelimitedText, error) {
	t := &DelimitedText{}
	var err error
	if t.d.delim, err = runeOf(props, "columnDelimiter", ","); err != nil {
		return nil, err
	}
	if t.d.delim == 0 || t.d.delim == '\r' || t.d.delim == '\n' {
		return nil, fmt.Errorf("columnDelimiter: expected one character other than a line end")
	}
	if t.d.quote, err = runeOf(props, "quoteChar", `"`); err != nil {
		return nil, err
	}
	if t.d.escape, err = runeOf(props, "escapeChar", `\`); err != nil {
		return nil, err
	}
	if t.d.escape == 0 && t.d.quote != 0 {
		return nil, fmt.Errorf("escapeChar is empty but quoteChar is not: ADF needs both empty, or an escape character")
	}
	if t.d.quote == t.d.delim || (t.d.escape == t.d.delim && t.d.escape != 0) {
		return nil, fmt.Errorf("quoteChar and escapeChar must differ from columnDelimiter")
	}
	row, err := str(props, "rowDelimiter")
	if err != nil {
		return nil, err
	}
	switch {
	case row == "":
		t.writeRow = "\r\n"
	case row == "\r\n" || utf8.RuneCountInString(row) == 1:
		t.d.row, t.writeRow = row, row
	default:
		return nil, fmt.Errorf("rowDelimiter %q: expected one character or \\r\\n", row)
	}
	if t.Header, err = boolean(props, "firstRowAsHeader", false); err != nil {
		return nil, err
	}
	if t.NullValue, err = str(props, "nullValue"); err != nil {
		return nil, err
	}
	if t.Codec, err = compressionOf(props); err != nil {
		return nil, err
	}
	lv, _ := str(props, "compressionLevel")
	if t.level, err = level(lv); err != nil {
		return nil, err
	}
	if t.encName, err = str(props, "encodingName"); err != nil {
		return nil, err
	}
	if t.encoding, err = lookupEncoding(t.encName); err != nil {
		return nil, err
	}
	if t.SkipLines, err = integer(settings, "skipLineCount", 0); err != nil {
		return nil, err
	}
	if t.QuoteAll, err = boolean(settings, "quoteAllText", false); err != nil {
		return nil, err
	}
	if t.extension, err = str(settings, "fileExtension"); err != nil {
		return nil, err
	}
	return t, nil
}

// lookupEncoding finds an encodingName; nil is UTF-8 (with or without a
// BOM on read, without on write).
func lookupEncoding(name string) (encoding.Encoding, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "" || n == "UTF-8" || n == "UTF8" || n == "UTF-8 WITHOUT BOM" {
		return nil, nil
	}
	e, err := ianaindex.IANA.Encoding(name)
	if err != nil || e == nil {
		return nil, fmt.Errorf("encodingName %q is not an encoding ciel knows (IANA names: UTF-8, UTF-16, ISO-8859-1, windows-1252, Shift_JIS, GB2312, ...)", name)
	}
	return e, nil
}

// Type is "DelimitedText".
func (t *DelimitedText) Type() string { return "DelimitedText" }

// Ext is the sink's fileExtension, else ".csv" (".txt" for another
// delimiter), with the codec's extension.
func (t *DelimitedText) Ext() string {
	if t.extension != "" {
		return t.extension
	}
	ext := ".txt"
	if t.d.delim == ',' {
		ext = ".csv"
	}
	return ext + t.Codec.Ext()
}

// NewReader reads records in batches; columns are named by the header,
// else by schema, else Prop_0, Prop_1, ... as ADF names them. Fields are
// strings unless schema gives a column another type.
func (t *DelimitedText) NewReader(ctx context.Context, r io.ReadCloser, name string, schema tabular.Schema) (tabular.Reader, error) {
	m, err := decode(r, name, t.Codec)
	if err != nil {
		r.Close()
		return nil, err
	}
	open := func(r io.Reader, member string) (tabular.Reader, error) {
		return t.newMemberReader(r, member, schema)
	}
	return newChain(m, open)
}

func (t *DelimitedText) newMemberReader(r io.Reader, name string, schema tabular.Schema) (*textReader, error) {
	if t.encoding != nil {
		r = transform.NewReader(r, t.encoding.NewDecoder())
	}
	br := bufio.NewReaderSize(r, 256<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	tr := &textReader{t: t, s: newScanner(br, t.d), name: name}
	for range t.SkipLines {
		if _, _, err := tr.s.next(); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var header []string
	if t.Header {
		fields, _, err := tr.s.next()
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: header: %w", name, err)
		}
		header = append(header, fields...)
	}
	tr.schema = textSchema(header, schema)
	if !t.Header && schema == nil {
		// No header and no schema: the first record says how many
		// columns there are.
		fields, quoted, err := tr.s.next()
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err == nil {
			for i := range fields {
				tr.schema = append(tr.schema, tabular.Column{Name: fmt.Sprintf("Prop_%d", i), Type: tabular.String, Nullable: true})
			}
			tr.pending, tr.pendingQuoted = append([]string(nil), fields...), append([]bool(nil), quoted...)
		}
	}
	return tr, nil
}

// textSchema names the columns by header, typed by a dataset schema
// column of the same name (case-insensitive) or position.
func textSchema(header []string, ds tabular.Schema) tabular.Schema {
	if header == nil {
		return ds
	}
	out := make(tabular.Schema, len(header))
	for i, h := range header {
		out[i] = tabular.Column{Name: h, Type: tabular.String, Nullable: true}
		for _, c := range ds {
			if strings.EqualFold(c.Name, h) {
				out[i].Type, out[i].Precision, out[i].Scale = c.Type, c.Precision, c.Scale
			}
		}
	}
	return out
}

// textReader reads one (decompressed) delimited text stream.
type textReader struct {
	t             *DelimitedText
	s             *scanner
	name          string
	schema        tabular.Schema
	row           int64
	batch         [][]any
	pending       []string
	pendingQuoted []bool
}

func (r *textReader) Schema() tabular.Schema { return r.schema }
func (r *textReader) Close() error           { return nil }

func (r *textReader) Next(ctx context.Context) ([][]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.batch = r.batch[:0]
	size := 0
	for len(r.batch) < BatchRows && size < BatchBytes {
		fields, quoted := r.pending, r.pendingQuoted
		r.pending = nil
		if fields == nil {
			var err error
			fields, quoted, err = r.s.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, &RowError{File: r.name, Row: r.row + 1, Err: err}
			}
		}
		if len(fields) == 1 && fields[0] == "" && !quoted[0] && len(r.schema) != 1 {
			continue // an empty line
		}
		r.row++
		row, err := r.convert(fields, quoted)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			size += len(f) + 16
		}
		r.batch = append(r.batch, row)
	}
	if len(r.batch) == 0 {
		return nil, io.EOF
	}
	return r.batch, nil
}

func (r *textReader) convert(fields []string, quoted []bool) ([]any, error) {
	if len(fields) != len(r.schema) {
		return nil, &RowError{File: r.name, Row: r.row, Err: fmt.Errorf("has %d columns, expected %d", len(fields), len(r.schema))}
	}
	row := make([]any, len(fields))
	for i, f := range fields {
		if f == r.t.NullValue && !quoted[i] {
			continue // nil
		}
		v, err := parseText(f, r.schema[i].Type)
		if err != nil {
			return nil, &RowError{File: r.name, Row: r.row, Column: r.schema[i].Name, Err: err}
		}
		row[i] = v
	}
	return row, nil
}

// NewWriter writes the header (when firstRowAsHeader) and then rows.
func (t *DelimitedText) NewWriter(ctx context.Context, f files.File, schema tabular.Schema) (tabular.Writer, error) {
	sink, err := t.openSink(f)
	if err != nil {
		return nil, err
	}
	w := &textWriter{t: t, textSink: sink, schema: schema, specials: "\r\n" + t.d.row}
	for _, r := range []rune{t.d.delim, t.d.quote, t.d.escape} {
		if r != 0 {
			w.specials += string(r)
		}
	}
	w.asciiOnly = true
	for _, r := range w.specials {
		if r >= utf8.RuneSelf {
			w.asciiOnly = false
		} else {
			w.special[r] = true
		}
	}
	if t.Header {
		for i, c := range schema {
			w.field(i, c.Name, true)
		}
		w.buf = append(w.buf, t.writeRow...)
	}
	return w, nil
}

// textWriter writes delimited text through a compressor to a file.
type textWriter struct {
	t *DelimitedText
	textSink
	schema tabular.Schema
	buf    []byte
	// specials are the characters that make a field need quoting;
	// special has them as a table when they are all ASCII.
	specials  string
	special   [256]bool
	asciiOnly bool
}

func (w *textWriter) Write(ctx context.Context, rows [][]any) error {
	if w.done {
		return errClosed
	}
	for _, row := range rows {
		for i, v := range row {
			if i > 0 {
				w.buf = utf8.AppendRune(w.buf, w.t.d.delim)
			}
			if v == nil {
				w.buf = append(w.buf, w.t.NullValue...)
				continue
			}
			var typ tabular.Type
			if i < len(w.schema) {
				typ = w.schema[i].Type
			}
			start := len(w.buf)
			w.buf = appendText(w.buf, v, typ)
			_, text := v.(string)
			if w.needsQuote(w.buf[start:], text) {
				s := string(w.buf[start:])
				w.buf = w.quoted(w.buf[:start], s)
			}
		}
		w.buf = append(w.buf, w.t.writeRow...)
		if len(w.buf) >= 64<<10 {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// field appends a header field.
func (w *textWriter) field(i int, s string, text bool) {
	if i > 0 {
		w.buf = utf8.AppendRune(w.buf, w.t.d.delim)
	}
	if w.needsQuote([]byte(s), text) {
		w.buf = w.quoted(w.buf, s)
		return
	}
	w.buf = append(w.buf, s...)
}

// needsQuote reports whether a field must be quoted (or, with no quote
// character, escaped): it holds what would split it, or it is text that
// would read back as null, or text under quoteAllText.
func (w *textWriter) needsQuote(b []byte, text bool) bool {
	if text && (w.t.QuoteAll || string(b) == w.t.NullValue) && w.t.d.quote != 0 {
		return true
	}
	if w.asciiOnly {
		for _, c := range b {
			if w.special[c] {
				return true
			}
		}
		return false
	}
	return bytes.ContainsAny(b, w.specials)
}

// quoted appends s quoted, with quotes and escapes escaped; with no quote
// character, s with its special characters escaped.
func (w *textWriter) quoted(b []byte, s string) []byte {
	d := w.t.d
	if d.quote == 0 {
		for _, r := range s {
			if d.escape != 0 && strings.ContainsRune(w.specials, r) {
				b = utf8.AppendRune(b, d.escape)
			}
			b = utf8.AppendRune(b, r)
		}
		return b
	}
	b = utf8.AppendRune(b, d.quote)
	for _, r := range s {
		if r == d.quote || (r == d.escape && d.escape != d.quote) {
			b = utf8.AppendRune(b, d.escape)
		}
		b = utf8.AppendRune(b, r)
	}
	return utf8.AppendRune(b, d.quote)
}

func (w *textWriter) flush() error {
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

func (w *textWriter) Commit(ctx context.Context) error {
	if w.done {
		return errClosed
	}
	w.done = true
	return w.commit(w.buf)
}

func (w *textWriter) Abort(ctx context.Context) error { return w.abort() }

// openSink is the file stack a DelimitedText writer writes through; a
// zip holds one entry named like the file.
func (t *DelimitedText) openSink(f files.File) (textSink, error) {
	return openTextSink(f, t.Codec, t.level, "data"+strings.TrimSuffix(t.Ext(), t.Codec.Ext()), t.encoding)
}
