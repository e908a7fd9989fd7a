package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ciel-mlops/ciel/internal/authlimit"
)

// TestWrongTokensAreLimitedOverHTTP drives the real server: the API
// answers a client's wrong tokens with 401 up to the limit, then 429 with
// Retry-After even for the right token (which is not compared), and the
// studio's sign-in, sharing the limit, answers its page with 429 too.
// Requests without a token are no attempts. (The window's end is proved
// with a fake clock in internal/api's TestWrongTokensAreLimited.)
func TestWrongTokensAreLimitedOverHTTP(t *testing.T) {
	t.Parallel()
	fg := runServer(t, nil, "--addr", "127.0.0.1:0", "--token", "s3cret")
	get := func(auth string) *http.Response {
		req, err := http.NewRequest("GET", fg.url+"/api/v1/workspaces", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for range 3 {
		if resp := get(""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no token: %d, want 401", resp.StatusCode)
		}
	}
	for i := range authlimit.DefaultBurst {
		if resp := get("Bearer guess" + strconv.Itoa(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, auth := range []string{"Bearer guess", "Bearer s3cret"} {
		resp := get(auth)
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || err != nil || ra < 1 || ra > int(authlimit.DefaultEvery.Seconds()) {
			t.Fatalf("%q after %d wrong tokens: %d, Retry-After %q; want 429 and 1..%v s", auth, authlimit.DefaultBurst,
				resp.StatusCode, resp.Header.Get("Retry-After"), authlimit.DefaultEvery.Seconds())
		}
	}
	form := url.Values{"token": {"s3cret"}, "next": {"/"}}.Encode()
	resp, body := studioDo(t, "POST", fg.url+"/login", form, nil,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": fg.url, "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "Too many wrong tokens") || len(resp.Cookies()) != 0 {
		t.Fatalf("sign-in over the limit: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
}
