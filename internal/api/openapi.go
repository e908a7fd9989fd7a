package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"
)

// openAPIYAML is the OpenAPI document of the /api/v1 routes. Every route
// registered under /api/v1 is in it, and nothing else:
// TestOpenAPIDocumentsEveryRoute fails naming the method and path to add
// or remove.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON is the document as JSON, converted on first use: clients and
// tools (Swagger UI, code generators, the studio) read JSON without a YAML
// parser. Not at init: that took 16 ms of every CLI command's start.
var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	b, err := yamlToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return b, nil
})

// openAPIRoutes serves the document. It is behind the token like every
// other route: it says nothing the repository does not, but one rule
// ("only what carries its own proof is public") is easier to keep than a
// list of harmless exceptions, and the studio reads it with its session.
func (s *server) openAPIRoutes(h func(string, handlerFunc)) {
	h("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) (any, error) {
		doc, err := openAPIJSON()
		if err != nil {
			return nil, err
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(doc)
		return streamed{}, nil
	})
}

// yamlToJSON converts a YAML document to JSON. yaml.v3 decodes a mapping
// into map[string]any when every key is a string, which the document's
// keys are (response codes are quoted).
func yamlToJSON(in []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(in, &v); err != nil {
		return nil, err
	}
	if err := checkStringKeys(v, "$"); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// checkStringKeys reports the first mapping whose keys are not all
// strings (an unquoted 200:), which JSON cannot hold.
func checkStringKeys(v any, at string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if err := checkStringKeys(x, at+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := checkStringKeys(x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case map[any]any:
		return fmt.Errorf("%s: a mapping with a key that is not a string (quote it)", at)
	}
	return nil
}
