package format

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// chain reads readers one after another, opening each only when the one
// before is done, as one reader with the first one's schema.
type chain struct {
	next   func() (tabular.Reader, string, error) // io.EOF after the last
	close  func() error
	cur    tabular.Reader
	name   string // of cur
	schema tabular.Schema
	done   bool
}

// Current is the name of the file (or archive member) the last batch
// came from; Open's readers have it, for Copy's $$FILEPATH.
func (c *chain) Current() string { return c.name }

// newChain reads the members of a stored file, each with open.
func newChain(m *members, open func(io.Reader, string) (tabular.Reader, error)) (tabular.Reader, error) {
	c := &chain{close: m.close, next: func() (tabular.Reader, string, error) {
		r, name, err := m.next()
		if err != nil {
			return nil, "", err
		}
		tr, err := open(r, name)
		return tr, name, err
	}}
	if err := c.start(); err != nil {
		m.close()
		return nil, err
	}
	return c, nil
}

// Open reads the files at paths of fsys in format f, one at a time, as
// one reader: a Copy of many files never holds more than one open. Every
// file must have the first one's columns.
func Open(ctx context.Context, fsys files.FS, paths []string, f Format, schema tabular.Schema) (tabular.Reader, error) {
	i := 0
	c := &chain{close: func() error { return nil }, next: func() (tabular.Reader, string, error) {
		if i >= len(paths) {
			return nil, "", io.EOF
		}
		p := paths[i]
		i++
		rc, err := fsys.Open(ctx, p)
		if err != nil {
			return nil, p, err
		}
		r, err := f.NewReader(ctx, rc, p, schema)
		return r, p, err
	}}
	if err := c.start(); err != nil {
		return nil, err
	}
	return c, nil
}

// start opens the first reader, whose schema is the chain's.
func (c *chain) start() error {
	r, name, err := c.next()
	if err == io.EOF {
		c.done = true
		return nil
	}
	if err != nil {
		return err
	}
	c.cur, c.schema, c.name = r, r.Schema(), name
	return nil
}

func (c *chain) Schema() tabular.Schema { return c.schema }

func (c *chain) Next(ctx context.Context) ([][]any, error) {
	for !c.done {
		if c.cur == nil {
			r, name, err := c.next()
			if err == io.EOF {
				c.done = true
				break
			}
			if err != nil {
				return nil, err
			}
			if err := sameColumns(c.schema, r.Schema()); err != nil {
				r.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			c.cur, c.name = r, name
		}
		rows, err := c.cur.Next(ctx)
		if err == io.EOF {
			err = c.cur.Close()
			c.cur = nil
			if err != nil {
				return nil, err
			}
			continue
		}
		return rows, err
	}
	return nil, io.EOF
}

func (c *chain) Close() error {
	var err error
	if c.cur != nil {
		err = c.cur.Close()
		c.cur = nil
	}
	if cerr := c.close(); err == nil {
		err = cerr
	}
	return err
}

// sameColumns checks that a later file has the first file's columns.
func sameColumns(want, got tabular.Schema) error {
	if len(want) == 0 && len(got) == 0 {
		return nil
	}
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.EqualFold(want[i].Name, got[i].Name)
	}
	if !ok {
		return fmt.Errorf("columns %s differ from the first file's %s", names(got), names(want))
	}
	return nil
}

func names(s tabular.Schema) string {
	n := make([]string, len(s))
	for i, c := range s {
		n[i] = c.Name
	}
	return "[" + strings.Join(n, ", ") + "]"
}
