package dataflow

import (
	"errors"
	"testing"

	"github.com/ciel-mlops/ciel/internal/dataflow/factory"
)

// FuzzParseDocument: any input, named from outside or not, parses or is
// refused with a *factory.Error; what parses yields its properties and
// references without panicking.
func FuzzParseDocument(f *testing.F) {
	for _, s := range []string{
		`{"name": "p", "properties": {"activities": [{"name": "a", "type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}}]}}`,
		`{"properties": {"type": "Parquet", "linkedServiceName": {"referenceName": "x"}}}`,
		"{\"name\": \"p\",\n\"properties\": {\"type\": 1}}", `[`, `{"properties": []}`, "\xff", `{"name": 1}`,
	} {
		f.Add(s, "")
		f.Add(s, "p")
	}
	f.Fuzz(func(t *testing.T, s, name string) {
		for _, kind := range []factory.Kind{factory.KindLinkedService, factory.KindDataset, factory.KindPipeline, factory.KindTrigger} {
			d, err := ParseDocument(kind, name, "f.json", []byte(s))
			if err != nil {
				var fe *factory.Error
				if !errors.As(err, &fe) || fe.File != "f.json" {
					t.Fatalf("error not placed in f.json: %v", err)
				}
				continue
			}
			if len(d.Properties) == 0 || d.Properties[0] != '{' {
				t.Fatalf("properties %q", d.Properties)
			}
			_ = references(d.Resource)
		}
	})
}
