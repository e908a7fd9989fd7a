package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxScoreBody bounds a request scored through the API and the answer
// relayed back: the studio's Test panel sends a sample, not a batch.
const maxScoreBody = 4 << 20

// scoreTimeout bounds one scoring request made through the API.
const scoreTimeout = 2 * time.Minute

// scoreEndpoint is POST .../online-endpoints/{name}/score[?deployment=d]:
// it scores the JSON body at the endpoint's scoring URI with the
// endpoint's own key or token, as `ciel online-endpoint invoke` does, and
// relays the answer (status, body, azureml-model-deployment and
// x-request-id). The studio's Test panel uses it: its page may only reach
// its own origin (CSP connect-src 'self'), and a caller of the management
// API may read the keys anyway.
func (s *server) scoreEndpoint(w http.ResponseWriter, r *http.Request) (any, error) {
	ws, name := r.PathValue("ws"), r.PathValue("name")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxScoreBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &httpError{status: http.StatusRequestEntityTooLarge, code: "RequestTooLarge",
				msg: fmt.Sprintf("a request scored through the API may be at most %d bytes; score larger ones at the scoring URI", maxScoreBody)}
		}
		return nil, badRequest("", "read the request: %v", err)
	}
	cred, err := s.serving.Credentials(r.Context(), ws, name)
	if err != nil {
		return nil, err
	}
	bearer := cred.Token
	if bearer == "" {
		bearer = cred.PrimaryKey
	}
	ctx, cancel := context.WithTimeout(r.Context(), scoreTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.serving.ScoringURI(name), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("score %s: %w", name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	if d := r.URL.Query().Get("deployment"); d != "" {
		req.Header.Set("azureml-model-deployment", d)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, &httpError{status: http.StatusBadGateway, code: "ScoringUnavailable", msg: fmt.Sprintf("score %s: %v", name, err)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxScoreBody+1))
	if err != nil {
		return nil, &httpError{status: http.StatusBadGateway, code: "ScoringUnavailable", msg: fmt.Sprintf("score %s: read the answer: %v", name, err)}
	}
	if len(answer) > maxScoreBody {
		return nil, &httpError{status: http.StatusBadGateway, code: "AnswerTooLarge",
			msg: fmt.Sprintf("the answer is over %d bytes; score at the scoring URI to read it", maxScoreBody)}
	}
	h := w.Header()
	for _, k := range []string{"azureml-model-deployment", "x-request-id"} {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	// The answer is the scoring script's, relayed from the studio's own
	// origin: it goes out as JSON or plain text, never as a page.
	ct := "text/plain; charset=utf-8"
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		ct = "application/json"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
	return streamed{}, nil
}
