package dataflow

import (
	"errors"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
	"github.com/ciel-mlops/ciel/internal/spec"
)

// FuzzParseDocument: any input parses or is refused with a *spec.Error at
// a line and column inside the input; what parses validates and yields
// references without panicking.
func FuzzParseDocument(f *testing.F) {
	for _, s := range []string{
		`{"name": "p", "properties": {"activities": [{"name": "a", "type": "Wait"}]}}`,
		`{"properties": {"type": "Parquet", "linkedServiceName": {"referenceName": "x"}}}`,
		"{\"name\": \"p\",\n\"properties\": {\"type\": 1}}", `[`, `{"properties": []}`, "\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []factory.Kind{factory.KindLinkedService, factory.KindDataset, factory.KindPipeline, factory.KindTrigger} {
			d, err := ParseDocument(kind, "f.json", []byte(s))
			if err != nil {
				var se *spec.Error
				if !errors.As(err, &se) || se.Pos.File != "f.json" {
					t.Fatalf("error without a position: %v", err)
				}
				if se.Pos.Line > 1+len(s) || se.Pos.Col > 1+len(s) {
					t.Fatalf("position %v outside the input of %d bytes", se.Pos, len(s))
				}
				continue
			}
			_ = validate(d)
			_ = references(d)
		}
	})
}
