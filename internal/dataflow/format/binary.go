package format

import (
	"context"
	"fmt"
	"io"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// ChunkBytes is the size of the pieces a Binary reader cuts a file into.
const ChunkBytes = 1 << 20

// BinarySchema is a Binary reader's: a file is rows of pieces of its
// bytes, in order. A Binary sink writes them back byte for byte.
var BinarySchema = tabular.Schema{{Name: "content", Type: tabular.ByteArray}}

// Binary is the Binary format: bytes copied as they are, no schema. With
// a compressionCodec a reader decompresses and a writer compresses, as
// ADF does.
type Binary struct {
	Codec Codec
	level int
}

func newBinary(props map[string]any) (*Binary, error) {
	b := &Binary{}
	var err error
	if b.Codec, err = compressionOf(props); err != nil {
		return nil, err
	}
	lv, _ := str(props, "compressionLevel")
	if b.level, err = level(lv); err != nil {
		return nil, err
	}
	return b, nil
}

// Type is "Binary".
func (b *Binary) Type() string { return "Binary" }

// Ext is the codec's extension (a Binary file keeps its own name).
func (b *Binary) Ext() string { return b.Codec.Ext() }

// NewReader reads the file (each member of an archive in turn) as rows of
// one []byte of at most ChunkBytes.
func (b *Binary) NewReader(ctx context.Context, r io.ReadCloser, name string, _ tabular.Schema) (tabular.Reader, error) {
	m, err := decode(r, name, b.Codec)
	if err != nil {
		r.Close()
		return nil, err
	}
	return newChain(m, func(r io.Reader, member string) (tabular.Reader, error) {
		return &binaryReader{r: r, name: member}, nil
	})
}

type binaryReader struct {
	r    io.Reader
	name string
	buf  []byte
	row  [][]any
}

func (r *binaryReader) Schema() tabular.Schema { return BinarySchema }
func (r *binaryReader) Close() error           { return nil }

func (r *binaryReader) Next(ctx context.Context) ([][]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.buf == nil {
		r.buf = make([]byte, ChunkBytes)
		r.row = [][]any{{nil}}
	}
	n, err := io.ReadFull(r.r, r.buf)
	if n == 0 {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	r.row[0][0] = r.buf[:n]
	return r.row, nil
}

// NewWriter writes each row's bytes (the one column) to f.
func (b *Binary) NewWriter(ctx context.Context, f files.File, schema tabular.Schema) (tabular.Writer, error) {
	if len(schema) != 1 || schema[0].Type != tabular.ByteArray {
		f.Abort()
		return nil, fmt.Errorf("a Binary sink needs a Binary source (one column of bytes), got columns %s", names(schema))
	}
	zw, err := encode(f, b.Codec, b.level, "data")
	if err != nil {
		f.Abort()
		return nil, err
	}
	return &binaryWriter{f: f, zw: zw}, nil
}

type binaryWriter struct {
	f    files.File
	zw   io.WriteCloser
	done bool
}

func (w *binaryWriter) Write(ctx context.Context, rows [][]any) error {
	if w.done {
		return errClosed
	}
	for _, row := range rows {
		p, ok := row[0].([]byte)
		if !ok && row[0] != nil {
			return fmt.Errorf("binary sink: got %T, expected bytes", row[0])
		}
		if _, err := w.zw.Write(p); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (w *binaryWriter) Commit(ctx context.Context) error {
	if w.done {
		return errClosed
	}
	w.done = true
	if err := w.zw.Close(); err != nil {
		w.f.Abort()
		return err
	}
	return w.f.Commit()
}

func (w *binaryWriter) Abort(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	return w.f.Abort()
}
