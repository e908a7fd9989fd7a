package datastore

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Kinds of data URI.
const (
	// KindDatastore is azureml://datastores/<ds>/paths/<p> (or its long
	// form naming the subscription, resource group and workspace).
	KindDatastore = "datastore"
	// KindJobOutput is azureml://jobs/<job>/outputs/<o>[/paths/<p>].
	KindJobOutput = "job_output"
	// KindURL is an http:// or https:// URL.
	KindURL = "url"
)

var (
	// ErrBadURI is wrapped by every error of ParseURI and CleanPath.
	ErrBadURI = errors.New("bad data URI")
	// ErrEscape is returned for a path that leads out of its datastore
	// (through "..", an absolute path or a symbolic link).
	ErrEscape = errors.New("path leads out of the datastore")
)

// URI is a parsed data URI.
type URI struct {
	Kind string
	// Workspace is the workspace the long form names ("" otherwise).
	Workspace string
	// Datastore and Path locate datastore files; Path is clean and
	// relative ("" is the datastore's root).
	Datastore string
	Path      string
	// Job and Output name a job output; Path is then a path inside it.
	Job    string
	Output string
	// URL is the whole http(s) URL.
	URL string
}

// String writes u back in its short form.
func (u URI) String() string {
	switch u.Kind {
	case KindDatastore:
		return "azureml://datastores/" + u.Datastore + "/paths/" + u.Path
	case KindJobOutput:
		s := "azureml://jobs/" + u.Job + "/outputs/" + u.Output
		if u.Path != "" {
			s += "/paths/" + u.Path
		}
		return s
	}
	return u.URL
}

// IsDataURI reports whether s is a URI ParseURI reads (it may still be
// malformed): an azureml:// datastore or job path, or an http(s) URL.
func IsDataURI(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "azureml://datastores/") || strings.HasPrefix(l, "azureml://jobs/") ||
		strings.HasPrefix(l, "azureml://subscriptions/") ||
		strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// maxURILen bounds a data URI.
const maxURILen = 4096

// segmentPattern is what a datastore, job or output name may be: one path
// segment of Azure ML's name characters.
var segmentPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$`)

// ParseURI parses a data URI. Errors wrap ErrBadURI and say what was
// expected.
func ParseURI(s string) (URI, error) {
	if len(s) > maxURILen {
		return URI{}, badURI(s, fmt.Sprintf("longer than %d bytes", maxURILen))
	}
	l := strings.ToLower(s)
	switch {
	case strings.HasPrefix(l, "http://"), strings.HasPrefix(l, "https://"):
		return parseURL(s)
	case strings.HasPrefix(l, "azureml://datastores/"):
		return parseDatastore(s, s[len("azureml://datastores/"):], "")
	case strings.HasPrefix(l, "azureml://subscriptions/"):
		return parseLong(s)
	case strings.HasPrefix(l, "azureml://jobs/"):
		return parseJob(s, s[len("azureml://jobs/"):])
	}
	return URI{}, badURI(s, "expected azureml://datastores/<datastore>/paths/<path>, "+
		"azureml://jobs/<job>/outputs/<output>, or an http:// or https:// URL")
}

// parseDatastore reads "<ds>/paths/<p>".
func parseDatastore(s, rest, ws string) (URI, error) {
	const form = "expected azureml://datastores/<datastore>/paths/<path>"
	ds, p, ok := strings.Cut(rest, "/paths/")
	if !ok {
		if ds, ok = strings.CutSuffix(rest, "/paths"); !ok {
			return URI{}, badURI(s, form)
		}
	}
	if !segmentPattern.MatchString(ds) {
		return URI{}, badURI(s, fmt.Sprintf("datastore name %q: expected letters, digits, '_', '.' or '-'", ds))
	}
	clean, err := CleanPath(p)
	if err != nil {
		return URI{}, fmt.Errorf("%s: %w", s, err)
	}
	return URI{Kind: KindDatastore, Workspace: ws, Datastore: ds, Path: clean}, nil
}

// parseLong reads azureml://subscriptions/<s>/resourcegroups/<rg>/
// workspaces/<ws>/datastores/<ds>/paths/<p>, Azure ML's full form.
func parseLong(s string) (URI, error) {
	parts := strings.SplitN(s[len("azureml://"):], "/", 9)
	if len(parts) < 8 || !strings.EqualFold(parts[2], "resourcegroups") ||
		!strings.EqualFold(parts[4], "workspaces") || !strings.EqualFold(parts[6], "datastores") {
		return URI{}, badURI(s, "expected azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/<datastore>/paths/<path>")
	}
	if !segmentPattern.MatchString(parts[5]) {
		return URI{}, badURI(s, fmt.Sprintf("workspace name %q: expected letters, digits, '_', '.' or '-'", parts[5]))
	}
	rest := parts[7]
	if len(parts) == 9 {
		rest += "/" + parts[8]
	}
	return parseDatastore(s, rest, parts[5])
}

// parseJob reads "<job>/outputs/<o>[/paths/<p>]".
func parseJob(s, rest string) (URI, error) {
	const form = "expected azureml://jobs/<job>/outputs/<output>[/paths/<path>]"
	job, rest, ok := strings.Cut(rest, "/outputs/")
	if !ok {
		return URI{}, badURI(s, form)
	}
	out, p, hasPath := strings.Cut(rest, "/paths/")
	if !hasPath {
		out = strings.TrimSuffix(out, "/")
	}
	if !segmentPattern.MatchString(job) {
		return URI{}, badURI(s, fmt.Sprintf("job name %q: %s", job, form))
	}
	if !segmentPattern.MatchString(out) {
		return URI{}, badURI(s, fmt.Sprintf("output name %q: %s", out, form))
	}
	u := URI{Kind: KindJobOutput, Job: job, Output: out}
	if hasPath {
		clean, err := CleanPath(p)
		if err != nil {
			return URI{}, fmt.Errorf("%s: %w", s, err)
		}
		u.Path = clean
	}
	return u, nil
}

// parseURL checks an http(s) URL: a host, no fragment, no control
// characters.
func parseURL(s string) (URI, error) {
	if hasControl(s) {
		return URI{}, badURI(s, "holds a control character")
	}
	u, err := url.Parse(s)
	if err != nil {
		return URI{}, badURI(s, err.Error())
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return URI{}, badURI(s, "expected http(s)://<host>/<path>")
	}
	return URI{Kind: KindURL, URL: s}, nil
}

// maxPathLen bounds a path inside a datastore.
const maxPathLen = 1024

// CleanPath checks p, a slash-separated path inside a datastore, and
// returns it without its trailing slash (which marks a folder). The root
// is "". A path that is absolute, holds "." or ".." segments, empty
// segments, backslashes or control characters, or is not UTF-8, is refused
// with an error wrapping ErrBadURI and ErrEscape, never cleaned into
// something else: what the user wrote is what is read.
func CleanPath(p string) (string, error) {
	p = strings.TrimSuffix(p, "/")
	switch {
	case p == "":
		return "", nil
	case len(p) > maxPathLen:
		return "", badPath(p, fmt.Sprintf("longer than %d bytes", maxPathLen))
	case !utf8.ValidString(p), hasControl(p):
		return "", badPath(p, "holds a control character or is not UTF-8")
	case strings.HasPrefix(p, "/"):
		return "", badPath(p, "is absolute; expected a path relative to the datastore")
	case strings.Contains(p, `\`):
		return "", badPath(p, `holds '\'; expected '/' between folders`)
	}
	for _, seg := range strings.Split(p, "/") {
		switch {
		case seg == "":
			return "", badPath(p, "has an empty segment ('//')")
		case seg == "." || seg == "..":
			return "", badPath(p, "holds '.' or '..'")
		case len(seg) > 255:
			return "", badPath(p, "has a segment longer than 255 bytes")
		}
	}
	return p, nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

func badURI(s, why string) error {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Errorf("%w %q: %s", ErrBadURI, s, why)
}

// badPath wraps both ErrBadURI and ErrEscape: every refused path is one
// that could name something outside the datastore.
func badPath(p, why string) error {
	if len(p) > 200 {
		p = p[:200] + "..."
	}
	return fmt.Errorf("%w: path %q %s: %w", ErrBadURI, p, why, ErrEscape)
}
