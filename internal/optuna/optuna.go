// Package optuna runs the sweep samplers that live in Python: it asks
// Optuna's TPE sampler (a Bayesian optimiser) for the values of a sweep's
// next trials, given what the finished trials scored, and scipy for the
// points of a scrambled Sobol sequence (random sampling with rule: sobol).
//
// It runs small embedded scripts with a Python that has optuna and scipy
// installed (CondaFile describes that environment; the engine builds it with
// its environment builder, once, cached by content). It is not a sampler of
// its own: each call starts a fresh in-memory study, replays the history into
// it and asks for new trials, so ciel's store stays the only record.
package optuna

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

//go:embed suggest.py
var script string

//go:embed sobol.py
var sobolScript string

// CondaFile is the conda file of the environment the scripts run in.
const CondaFile = `name: ciel-optuna
dependencies:
  - pip:
    - optuna==5.0.0
    - scipy==1.17.1
`

// Param is one search-space parameter: a choice of Values, or a uniform
// (Q 0) or quniform range [Min, Max].
type Param struct {
	Type   string   `json:"type"` // choice, uniform or quniform
	Values []string `json:"values,omitempty"`
	Min    float64  `json:"min"`
	Max    float64  `json:"max"`
	Q      float64  `json:"q,omitempty"`
}

// Trial is a finished trial: its values and its objective value (nil when
// it failed, was canceled or logged no metric).
type Trial struct {
	Params map[string]string `json:"params"`
	Value  *float64          `json:"value"`
}

// Request asks for N new trials.
type Request struct {
	Space   map[string]Param `json:"space"`
	Goal    string           `json:"goal"` // maximize or minimize
	Seed    int64            `json:"seed"`
	N       int              `json:"n"`
	History []Trial          `json:"history"`
	// Startup is how many trials TPE draws at random before it models the
	// history (Optuna's n_startup_trials); 0 means Optuna's default, 5.
	Startup int `json:"startup,omitempty"`
}

// Suggest runs the script with python and returns N new trials' values,
// each value as the text a trial's command receives.
func Suggest(ctx context.Context, python string, req Request) ([]map[string]string, error) {
	if req.Startup == 0 {
		req.Startup = 5
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("optuna request: %w", err)
	}
	var resp struct {
		Trials []map[string]string `json:"trials"`
	}
	if err := runScript(ctx, python, script, in, &resp); err != nil {
		return nil, fmt.Errorf("optuna: %w", err)
	}
	if len(resp.Trials) != req.N {
		return nil, fmt.Errorf("optuna: asked for %d trials, got %d", req.N, len(resp.Trials))
	}
	return resp.Trials, nil
}

// Sobol returns the first n points of a scrambled Sobol sequence in d
// dimensions, seeded by seed: n points of the unit cube, spread more evenly
// than independent draws.
func Sobol(ctx context.Context, python string, d, n int, seed int64) ([][]float64, error) {
	if d < 1 || n < 0 {
		return nil, fmt.Errorf("sobol: %d dimensions, %d points", d, n)
	}
	if n == 0 {
		return nil, nil
	}
	in, err := json.Marshal(map[string]int64{"d": int64(d), "n": int64(n), "seed": seed & 0xffffffff})
	if err != nil {
		return nil, fmt.Errorf("sobol request: %w", err)
	}
	var resp struct {
		Points [][]float64 `json:"points"`
	}
	if err := runScript(ctx, python, sobolScript, in, &resp); err != nil {
		return nil, fmt.Errorf("sobol: %w", err)
	}
	if len(resp.Points) != n {
		return nil, fmt.Errorf("sobol: asked for %d points, got %d", n, len(resp.Points))
	}
	return resp.Points, nil
}

// runScript runs an embedded script with python, in on its stdin, and
// decodes the JSON it prints into out.
func runScript(ctx context.Context, python, src string, in []byte, out any) error {
	cmd := exec.CommandContext(ctx, python, "-c", src)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, lastLine(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		return fmt.Errorf("bad answer %q: %w", lastLine(stdout.String()), err)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
