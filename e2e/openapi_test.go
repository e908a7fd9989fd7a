package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentOverHTTP fetches the OpenAPI document from the real
// server: behind the token like every route, and with it a valid OpenAPI 3
// document naming the routes the CLI uses.
func TestOpenAPIDocumentOverHTTP(t *testing.T) {
	t.Parallel()
	fg := runServer(t, nil, "--addr", "127.0.0.1:0", "--token", "s3cret")
	if code, _ := send(t, "GET", fg.url+"/api/v1/openapi.json", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	code, body := send(t, "GET", fg.url+"/api/v1/openapi.json", nil, map[string]string{"Authorization": "Bearer s3cret"})
	if code != http.StatusOK {
		t.Fatalf("with the token: %d %.300s", code, body)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, op := range []struct{ method, path string }{
		{"POST", "/api/v1/workspaces/{ws}/jobs"},
		{"GET", "/api/v1/workspaces/{ws}/events"},
		{"POST", "/api/v1/workspaces/{ws}/online-endpoints/{name}/score"},
	} {
		item := doc.Paths.Find(op.path)
		if item == nil || item.GetOperation(op.method) == nil {
			t.Errorf("%s %s is not in the served document", op.method, op.path)
		}
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
}
