package format

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// JSON is the Json format: a file of objects, one after another (ADF's
// setOfObjects, one per line when written) or in one array
// (arrayOfObjects). Each top-level key is a column; a nested object or
// array is kept as its JSON text.
type JSON struct {
	Codec    Codec
	level    int
	encoding encoding.Encoding
	// Array writes arrayOfObjects (reading detects either).
	Array bool
}

func newJSON(props, settings map[string]any) (*JSON, error) {
	j := &JSON{}
	var err error
	if j.Codec, err = compressionOf(props); err != nil {
		return nil, err
	}
	lv, _ := str(props, "compressionLevel")
	if j.level, err = level(lv); err != nil {
		return nil, err
	}
	enc, _ := str(props, "encodingName")
	if j.encoding, err = lookupEncoding(enc); err != nil {
		return nil, err
	}
	pattern, _ := str(settings, "filePattern")
	if pattern == "" {
		pattern, _ = str(props, "filePattern")
	}
	switch pattern {
	case "", "setOfObjects":
	case "arrayOfObjects":
		j.Array = true
	default:
		return nil, fmt.Errorf("filePattern %q: expected setOfObjects or arrayOfObjects", pattern)
	}
	return j, nil
}

// Type is "Json".
func (j *JSON) Type() string { return "Json" }

// Ext is ".json" with the codec's extension.
func (j *JSON) Ext() string { return ".json" + j.Codec.Ext() }

// NewReader reads objects in batches. Without a dataset schema the
// columns are the keys of the first batch's objects, in order of first
// appearance; keys met later that are not columns are left out.
func (j *JSON) NewReader(ctx context.Context, r io.ReadCloser, name string, schema tabular.Schema) (tabular.Reader, error) {
	m, err := decode(r, name, j.Codec)
	if err != nil {
		r.Close()
		return nil, err
	}
	return newChain(m, func(r io.Reader, member string) (tabular.Reader, error) {
		if j.encoding != nil {
			r = transform.NewReader(r, j.encoding.NewDecoder())
		}
		return newJSONReader(ctx, r, member, schema)
	})
}

// jsonReader reads one stream of objects.
type jsonReader struct {
	dec    *json.Decoder
	lim    *boundedReader
	name   string
	array  bool
	schema tabular.Schema
	index  map[string]int
	row    int64
	first  [][]any // the batch read to find the columns
	done   bool
}

type jsonObject struct {
	keys []string
	vals map[string]any
}

func newJSONReader(ctx context.Context, r io.Reader, name string, schema tabular.Schema) (*jsonReader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	lim := &boundedReader{r: br}
	jr := &jsonReader{name: name, schema: schema, lim: lim}
	for {
		b, err := br.ReadByte()
		if err != nil {
			jr.done = true
			break
		}
		if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
			continue
		}
		jr.array = b == '['
		_ = br.UnreadByte()
		break
	}
	jr.dec = json.NewDecoder(lim)
	jr.dec.UseNumber()
	if jr.array {
		if _, err := jr.dec.Token(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if schema == nil && !jr.done {
		objs, err := jr.objects(BatchRows)
		if err != nil {
			return nil, err
		}
		jr.schema = inferJSON(objs)
		jr.setIndex()
		for _, o := range objs {
			row, err := jr.toRow(o)
			if err != nil {
				return nil, err
			}
			jr.first = append(jr.first, row)
		}
		return jr, nil
	}
	jr.setIndex()
	return jr, nil
}

func (r *jsonReader) setIndex() {
	r.index = make(map[string]int, len(r.schema))
	for i, c := range r.schema {
		r.index[c.Name] = i
	}
}

// objects decodes up to n objects.
func (r *jsonReader) objects(n int) ([]jsonObject, error) {
	var out []jsonObject
	for len(out) < n && !r.done {
		if r.array && !r.dec.More() {
			r.done = true
			break
		}
		r.lim.n = 0
		o, err := r.object()
		if err == io.EOF && !r.array {
			r.done = true
			break
		}
		if err != nil {
			return nil, &RowError{File: r.name, Row: r.row + int64(len(out)) + 1, Err: fmt.Errorf("not a JSON object: %w", err)}
		}
		out = append(out, o)
	}
	return out, nil
}

// boundedReader fails once more than MaxRecordBytes (plus what a
// decoder reads ahead) are read since n was last reset: one huge object
// cannot pull a whole file into memory.
type boundedReader struct {
	r io.Reader
	n int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n > MaxRecordBytes+BatchBytes {
		return 0, fmt.Errorf("an object is longer than %d bytes", MaxRecordBytes)
	}
	n, err := b.r.Read(p)
	b.n += n
	return n, err
}

// object decodes one object, keeping the order of its keys.
func (r *jsonReader) object() (jsonObject, error) {
	t, err := r.dec.Token()
	if err != nil {
		return jsonObject{}, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return jsonObject{}, fmt.Errorf("found %v where an object was expected", t)
	}
	o := jsonObject{vals: map[string]any{}}
	for r.dec.More() {
		t, err := r.dec.Token()
		if err != nil {
			return o, err
		}
		k, _ := t.(string)
		var v any
		if err := r.dec.Decode(&v); err != nil {
			return o, err
		}
		if _, dup := o.vals[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = v
	}
	_, err = r.dec.Token() // '}'
	return o, err
}

func (r *jsonReader) toRow(o jsonObject) ([]any, error) {
	r.row++
	row := make([]any, len(r.schema))
	for k, v := range o.vals {
		i, ok := r.index[k]
		if !ok || v == nil {
			continue
		}
		x, err := jsonValue(v, r.schema[i].Type)
		if err != nil {
			return nil, &RowError{File: r.name, Row: r.row, Column: k, Err: err}
		}
		row[i] = x
	}
	return row, nil
}

// inferJSON finds the columns of a batch of objects: their keys in order
// of first appearance, typed Int64, Double or Boolean where every value
// is one, else String.
func inferJSON(objs []jsonObject) tabular.Schema {
	var out tabular.Schema
	at := map[string]int{}
	for _, o := range objs {
		for _, k := range o.keys {
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, tabular.Column{Name: k, Nullable: true})
			}
			out[i].Type = mergeType(out[i].Type, kindOf(o.vals[k]))
		}
	}
	for i := range out {
		if out[i].Type == "" {
			out[i].Type = tabular.String
		}
	}
	return out
}

func kindOf(v any) tabular.Type {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return tabular.Int64
		}
		return tabular.Double
	case bool:
		return tabular.Boolean
	}
	return tabular.String
}

func mergeType(a, b tabular.Type) tabular.Type {
	switch {
	case a == "" || a == b:
		return b
	case b == "":
		return a
	case (a == tabular.Int64 && b == tabular.Double) || (a == tabular.Double && b == tabular.Int64):
		return tabular.Double
	}
	return tabular.String
}

// jsonValue converts a decoded JSON value to a value of column type t.
func jsonValue(v any, t tabular.Type) (any, error) {
	switch x := v.(type) {
	case json.Number:
		switch t {
		case tabular.String, "", tabular.Decimal:
			return string(x), nil
		}
		return parseText(string(x), t)
	case string:
		return parseText(x, t)
	case bool:
		if t == tabular.Boolean {
			return x, nil
		}
		return parseText(strconv.FormatBool(x), t)
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func (r *jsonReader) Schema() tabular.Schema { return r.schema }
func (r *jsonReader) Close() error           { return nil }

func (r *jsonReader) Next(ctx context.Context) ([][]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.first != nil {
		b := r.first
		r.first = nil
		return b, nil
	}
	objs, err := r.objects(BatchRows)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, io.EOF
	}
	batch := make([][]any, len(objs))
	for i, o := range objs {
		if batch[i], err = r.toRow(o); err != nil {
			return nil, err
		}
	}
	return batch, nil
}

// NewWriter writes one object per row, keyed by column name; a null
// value is written as null.
func (j *JSON) NewWriter(ctx context.Context, f files.File, schema tabular.Schema) (tabular.Writer, error) {
	sink, err := openTextSink(f, j.Codec, j.level, "data.json", j.encoding)
	if err != nil {
		return nil, err
	}
	w := &jsonWriter{j: j, textSink: sink, schema: schema}
	for _, c := range schema {
		w.keys = append(w.keys, appendJSONString(nil, c.Name))
	}
	if j.Array {
		w.buf = append(w.buf, '[')
	}
	return w, nil
}

type jsonWriter struct {
	j *JSON
	textSink
	schema tabular.Schema
	keys   [][]byte
	buf    []byte
	rows   int64
}

func (w *jsonWriter) Write(ctx context.Context, rows [][]any) error {
	if w.done {
		return errClosed
	}
	for _, row := range rows {
		if w.j.Array && w.rows > 0 {
			w.buf = append(w.buf, ",\n"...)
		}
		w.rows++
		w.buf = append(w.buf, '{')
		for i, v := range row {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = append(w.buf, w.keys[i]...)
			w.buf = append(w.buf, ':')
			var err error
			if w.buf, err = appendJSONValue(w.buf, v, w.schema[i].Type); err != nil {
				return &RowError{File: "json sink", Row: w.rows, Column: w.schema[i].Name, Err: err}
			}
		}
		w.buf = append(w.buf, '}')
		if !w.j.Array {
			w.buf = append(w.buf, '\n')
		}
		if len(w.buf) >= 64<<10 {
			if _, err := w.out.Write(w.buf); err != nil {
				return err
			}
			w.buf = w.buf[:0]
		}
	}
	return ctx.Err()
}

// appendJSONValue appends v as JSON: Decimal as a number, times as
// RFC 3339 strings, bytes as base64.
func appendJSONValue(b []byte, v any, t tabular.Type) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		if t == tabular.Decimal {
			return append(b, x...), nil
		}
		return appendJSONString(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case time.Time:
		if t == tabular.Date {
			return appendJSONString(b, x.Format(dateLayout)), nil
		}
		return appendJSONString(b, x.Format(time.RFC3339Nano)), nil
	case []byte:
		return appendJSONString(b, base64.StdEncoding.EncodeToString(x)), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = fmt.Appendf(b, `\u%04x`, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

func (w *jsonWriter) Commit(ctx context.Context) error {
	if w.done {
		return errClosed
	}
	w.done = true
	if w.j.Array {
		w.buf = append(w.buf, "]\n"...)
	}
	return w.commit(w.buf)
}

func (w *jsonWriter) Abort(ctx context.Context) error { return w.abort() }
