package activity

import (
	"context"
	"errors"

	"github.com/ciel-mlops/ciel/internal/dataflow/tabular"
)

// Placeholders until the database connectors land.
func (e *Env) openTableSource(ctx context.Context, ds Dataset, source map[string]any) (tabular.Reader, error) {
	return nil, errors.New("database sources not built yet")
}

func (e *Env) openTableSink(ctx context.Context, ds Dataset, sink map[string]any, schema tabular.Schema) (tabular.Writer, error) {
	return nil, errors.New("database sinks not built yet")
}
