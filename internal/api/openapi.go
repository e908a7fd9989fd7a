package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"gopkg.in/yaml.v3"
)

// openAPIYAML is the OpenAPI document of the /api/v1 routes. Every route
// registered under /api/v1 is in it, and nothing else:
// TestOpenAPIDocumentsEveryRoute fails naming the method and path to add
// or remove.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON is the document as JSON, converted once: clients and tools
// (Swagger UI, code generators, the studio) read JSON without a YAML
// parser.
var openAPIJSON = func() []byte {
	b, err := yamlToJSON(openAPIYAML)
	if err != nil {
		// The document is embedded at build time and its test loads it:
		// a broken one is a build defect, not a runtime condition.
		panic(fmt.Sprintf("api: openapi.yaml: %v", err))
	}
	return b
}()

// openAPIRoutes serves the document. It is behind the token like every
// other route: it says nothing the repository does not, but one rule
// ("only what carries its own proof is public") is easier to keep than a
// list of harmless exceptions, and the studio reads it with its session.
func (s *server) openAPIRoutes(h func(string, handlerFunc)) {
	h("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) (any, error) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openAPIJSON)
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
