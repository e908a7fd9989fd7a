// Package optuna asks Optuna's TPE sampler (a Bayesian optimiser) for the
// values of a sweep's next trials, given what the finished trials scored.
//
// It runs a small embedded script with a Python that has optuna installed
// (CondaFile describes that environment; the engine builds it with its
// environment builder, once, cached by content). It is not a sampler of its
// own: each call starts a fresh in-memory study, replays the history into it
// and asks for new trials, so ciel's store stays the only record.
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

// CondaFile is the conda file of the environment the script runs in.
const CondaFile = `name: ciel-optuna
dependencies:
  - pip:
    - optuna==5.0.0
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
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("optuna: %w: %s", err, lastLine(errb.String()))
	}
	var resp struct {
		Trials []map[string]string `json:"trials"`
	}
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("optuna: bad answer %q: %w", lastLine(out.String()), err)
	}
	if len(resp.Trials) != req.N {
		return nil, fmt.Errorf("optuna: asked for %d trials, got %d", req.N, len(resp.Trials))
	}
	return resp.Trials, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
