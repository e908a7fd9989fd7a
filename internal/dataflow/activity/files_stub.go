package activity

import (
	"context"
	"errors"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Placeholders until the file formats land.
func (e *Env) openFileSource(ctx context.Context, ds Dataset, source map[string]any) (tabular.Reader, error) {
	return nil, errors.New("file sources not built yet")
}

func (e *Env) openFileSink(ctx context.Context, ds Dataset, sink map[string]any, schema tabular.Schema) (tabular.Writer, error) {
	return nil, errors.New("file sinks not built yet")
}
