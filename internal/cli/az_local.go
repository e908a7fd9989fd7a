package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
)

// The versions `az version` and `az extension list` report: an az and an
// ml extension that carry out what ciel's az does.
const (
	azCLIVersion       = "2.67.0"
	azTelemetryVersion = "1.1.0"
	azMLVersion        = "2.32.0"
)

// runLocal answers the account, login, version and extension commands the
// way a logged-in az with the ml extension installed does; handled is
// false for any other command.
func (c *azCmd) runLocal(_ context.Context, o *azCommandOpts) (handled bool, err error) {
	print := func(v any) error { return o.azGlobals.print(c.out, v, nil) }
	switch strings.Join(o.Words, " ") {
	case "login", "logout", "account set", "account clear":
		return true, nil
	case "account show":
		return true, print(c.account())
	case "account list":
		return true, print([]any{c.account()})
	case "version":
		return true, print(map[string]any{
			"azure-cli":           azCLIVersion,
			"azure-cli-core":      azCLIVersion,
			"azure-cli-telemetry": azTelemetryVersion,
			"extensions":          map[string]any{"ml": azMLVersion},
		})
	case "extension list":
		return true, print([]any{mlExtension()})
	case "extension add", "extension update", "extension show":
		name, err := extensionName(o.Rest)
		if err != nil {
			return true, err
		}
		if o.Words[1] == "show" {
			return true, print(mlExtension())
		}
		if name == "" { // add --source <wheel> or --upgrade without a name
			return true, usageErrorf("az %s: give -n/--name ml (ciel's az has the ml extension built in)", strings.Join(o.Words, " "))
		}
		return true, nil
	}
	return false, nil
}

// extensionName returns the -n/--name of an extension command: "ml" or
// empty; any other extension is an error.
func extensionName(rest []string) (string, error) {
	name := ""
	for i, a := range rest {
		switch {
		case (a == "-n" || a == "--name") && i+1 < len(rest):
			name = rest[i+1]
		case strings.HasPrefix(a, "--name="):
			name = strings.TrimPrefix(a, "--name=")
		}
	}
	if name != "" && name != "ml" && name != "azure-cli-ml" {
		return "", usageErrorf("ciel's az has only the ml extension; it does not carry out extension %q", name)
	}
	return name, nil
}

// mlExtension is the ml extension as `az extension show -n ml` prints it.
func mlExtension() map[string]any {
	return map[string]any{
		"experimental":  false,
		"extensionType": "whl",
		"name":          "ml",
		"path":          "(built into ciel)",
		"preview":       false,
		"version":       azMLVersion,
	}
}

// account is the one subscription ciel's az is logged in to: its ids are
// stable for a server (CIEL_URL, else CIEL_HOME), so scripts that read
// `az account show --query id -o tsv` get the same answer every time.
func (c *azCmd) account() map[string]any {
	where := c.url
	if where == "" {
		where = c.home
	}
	return map[string]any{
		"environmentName":  "AzureCloud",
		"homeTenantId":     stableUUID("tenant", where),
		"id":               stableUUID("subscription", where),
		"isDefault":        true,
		"managedByTenants": []any{},
		"name":             "ciel",
		"state":            "Enabled",
		"tenantId":         stableUUID("tenant", where),
		"user":             map[string]any{"name": "ciel", "type": "user"},
	}
}

// stableUUID derives a UUID-shaped id from kind and where.
func stableUUID(kind, where string) string {
	s := sha256.Sum256([]byte("ciel " + kind + " " + where))
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}
