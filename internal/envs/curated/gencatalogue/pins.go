package main

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ciel-mlops/ciel/internal/envs/curated"
)

// pinChecker asks uv which versions of a requirement have wheels for a
// Python version, remembering every answer.
type pinChecker struct {
	uv       string
	platform string

	mu    sync.Mutex
	cache map[string]checkResult
}

type checkResult struct {
	pin string // the resolved "name==version"
	err string // uv's reason when nothing resolved
}

// wheelPythons are the versions tried to tell a pin that has wheels for
// other Pythons from one released only as source.
var wheelPythons = []string{"3.8", "3.9", "3.10", "3.11", "3.12", "3.13"}

var (
	pinnedRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?)\s*(==|~=|>=|>|<=|<|!=|===)\s*([0-9][0-9A-Za-z.*+!_-]*)`)
	lowerRE  = regexp.MustCompile(`(==|~=|>=|>|===)\s*([0-9][0-9A-Za-z.+!_-]*)`)
)

// substitute fills e.Substitutions and e.Unresolved for each Python: the
// rule of curated.Environment.Resolve, applied with uv against PyPI.
func (c *pinChecker) substitute(e *curated.Environment, pythons []string) {
	e.Substitutions = map[string][]curated.Substitution{}
	e.Unresolved = map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, py := range pythons {
		wg.Add(1)
		go func() { // one Python per goroutine: uv mostly waits on the cache and the network
			defer wg.Done()
			subs := []curated.Substitution{}
			reqs := make([]string, 0, len(e.Requirements))
			for _, r := range e.Requirements {
				if s, ok := c.substitution(r, py); ok {
					subs = append(subs, s)
					r = s.To
				}
				reqs = append(reqs, r)
			}
			why := c.resolveAll(reqs, py)
			mu.Lock()
			defer mu.Unlock()
			e.Substitutions[py] = subs
			if why != "" {
				e.Unresolved[py] = why
				log.Printf("%s: does not resolve on Python %s: %s", e.Name, py, why)
			}
		}()
	}
	wg.Wait()
	if len(e.Unresolved) == 0 {
		e.Unresolved = nil
	}
}

// substitution decides one pin on one Python.
func (c *pinChecker) substitution(req, py string) (curated.Substitution, bool) {
	m := pinnedRE.FindStringSubmatch(req)
	if m == nil || strings.Contains(req, ";") {
		return curated.Substitution{}, false // unpinned, or with a marker: uv chooses
	}
	if c.check(req, py, false).err == "" {
		return curated.Substitution{}, false
	}
	hasWheels := false
	for _, other := range wheelPythons {
		if other != py && c.check(req, other, false).err == "" {
			hasWheels = true
			break
		}
	}
	if !hasWheels {
		return curated.Substitution{}, false // released as source only: built from source, as Azure does
	}
	name := m[1]
	floor := name
	if lo := lowerRE.FindStringSubmatch(req); lo != nil {
		floor = name + ">=" + strings.TrimSuffix(strings.TrimSuffix(lo[2], "*"), ".")
	}
	got := c.check(floor, py, true)
	if got.err != "" {
		if got = c.check(name, py, false); got.err != "" {
			log.Printf("%s: no wheel at all for Python %s: %s", name, py, got.err)
			return curated.Substitution{}, false
		}
	}
	_, version, _ := strings.Cut(got.pin, "==")
	return curated.Substitution{From: req, To: name + "==" + version, Reason: "no wheel for Python " + py}, true
}

// check resolves one requirement alone, wheels only; lowest picks the
// lowest version that fits instead of the highest.
func (c *pinChecker) check(req, py string, lowest bool) checkResult {
	key := fmt.Sprintf("%s|%s|%v", req, py, lowest)
	c.mu.Lock()
	r, ok := c.cache[key]
	c.mu.Unlock()
	if ok {
		return r
	}
	args := []string{"pip", "compile", "--no-deps", "--only-binary", ":all:"}
	if lowest {
		args = append(args, "--resolution", "lowest")
	}
	out, err := c.compile(args, py, req)
	if err != "" {
		r.err = err
	} else {
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				r.pin = strings.Fields(l)[0]
				break
			}
		}
	}
	c.mu.Lock()
	c.cache[key] = r
	c.mu.Unlock()
	return r
}

// resolveAll resolves the whole set together; it returns "" when it does,
// else the gist of uv's answer.
func (c *pinChecker) resolveAll(reqs []string, py string) string {
	_, err := c.compile([]string{"pip", "compile"}, py, strings.Join(reqs, "\n"))
	return err
}

// compile runs uv pip compile on requirements given on stdin: from uv's
// cache alone first, and against PyPI when the cache lacks a package.
func (c *pinChecker) compile(args []string, py, stdin string) (string, string) {
	args = append(args, "--quiet", "--no-header", "--python-version", py, "--python-platform", c.platform, "-")
	out, stderr, err := c.uvRun(append([]string{args[0], args[1], "--offline"}, args[2:]...), stdin)
	if err != nil && cacheMiss(stderr) {
		out, stderr, err = c.uvRun(args, stdin)
	}
	if err != nil {
		return "", gist(stderr, err)
	}
	return out, ""
}

// cacheMiss tells an offline failure that only lacked cached data from a
// real answer.
func cacheMiss(stderr string) bool {
	s := strings.ToLower(stderr)
	return strings.Contains(s, "not found in the cache") || strings.Contains(s, "to be downloaded from a registry") ||
		strings.Contains(s, "network connectivity is disabled")
}

func (c *pinChecker) uvRun(args []string, stdin string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.uv, args...)
	cmd.Stdin = strings.NewReader(stdin + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// gist keeps the lines of uv's error that say why, shortened.
func gist(stderr string, err error) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "hint:") || strings.HasPrefix(l, "help:") {
			continue
		}
		keep = append(keep, strings.TrimPrefix(l, "╰─▶ "))
	}
	s := strings.Join(keep, " ")
	if s == "" {
		s = err.Error()
	}
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}
