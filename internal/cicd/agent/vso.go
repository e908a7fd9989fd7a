package agent

import (
	"strings"
)

// command is a parsed logging command, ##vso[area.event k=v;k=v]message.
type command struct {
	name    string // "task.setvariable", lower-cased
	props   map[string]string
	message string
}

var vsoUnescape = strings.NewReplacer("%AZP25", "%", "%0D", "\r", "%0A", "\n", "%5D", "]", "%3B", ";")

// parseCommand finds a logging command in line, as Azure's agent does
// (anywhere in the line).
func parseCommand(line string) (command, bool) {
	i := strings.Index(line, "##vso[")
	if i < 0 {
		return command{}, false
	}
	rest := line[i+len("##vso["):]
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return command{}, false
	}
	head, msg := rest[:end], rest[end+1:]
	name, propText, _ := strings.Cut(head, " ")
	if !strings.Contains(name, ".") {
		return command{}, false
	}
	c := command{name: strings.ToLower(name), props: map[string]string{}, message: vsoUnescape.Replace(msg)}
	for _, kv := range strings.Split(propText, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			continue
		}
		c.props[strings.ToLower(strings.TrimSpace(k))] = vsoUnescape.Replace(v)
	}
	return c, true
}

// handleLine processes one line of step output: a logging command is
// carried out, anything else goes to the log (masked).
func (r *jobRun) handleLine(st *stepState, line string) {
	c, ok := parseCommand(line)
	if !ok {
		r.out.line(line)
		return
	}
	switch c.name {
	case "task.setvariable":
		r.setVariable(st, c)
	case "task.setsecret":
		r.out.addSecret(c.message)
	case "task.logissue":
		typ := strings.ToLower(c.props["type"])
		if typ != "warning" {
			typ = "error"
		}
		msg := r.out.mask(c.message)
		st.mu.Lock()
		st.issues = append(st.issues, Issue{Type: typ, Message: msg})
		st.mu.Unlock()
		r.out.line("##[" + typ + "]" + msg)
	case "task.complete":
		st.mu.Lock()
		st.complete = strings.ToLower(strings.TrimSpace(c.props["result"]))
		if st.complete == "" {
			st.complete = "succeeded"
		}
		st.mu.Unlock()
		if c.message != "" {
			r.out.line(c.message)
		}
	case "artifact.upload":
		name := firstNonEmpty(c.props["artifactname"], "drop")
		st.mu.Lock()
		st.uploads = append(st.uploads, upload{artifact: name, path: strings.TrimSpace(c.message)})
		st.mu.Unlock()
	case "task.prependpath":
		if p := strings.TrimSpace(c.message); p != "" {
			r.mu.Lock()
			r.pathPre = append([]string{p}, r.pathPre...)
			r.mu.Unlock()
		}
	case "build.addbuildtag", "build.updatebuildnumber", "build.uploadlog", "task.uploadfile",
		"task.uploadsummary", "task.setprogress", "task.setendpoint", "task.addattachment":
		// Accepted and ignored: they only decorate Azure's web UI.
	default:
		r.out.line("##[warning]Unsupported logging command: " + c.name)
	}
}

// setVariable carries out ##vso[task.setvariable].
func (r *jobRun) setVariable(st *stepState, c command) {
	name := strings.TrimSpace(c.props["variable"])
	if name == "" {
		r.out.line("##[warning]##vso[task.setvariable] without variable=")
		return
	}
	secret := isTrue(c.props["issecret"])
	if secret {
		r.out.addSecret(c.message)
	}
	r.vars.set(name, c.message, secret)
	if isTrue(c.props["isoutput"]) {
		key := st.name + "." + name
		r.vars.set(key, c.message, secret)
		r.mu.Lock()
		r.outputs[key] = c.message
		r.mu.Unlock()
	}
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }
