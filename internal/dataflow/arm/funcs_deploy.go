package arm

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// standInID is the subscription and tenant id of the local stand-ins.
const standInID = "00000000-0000-0000-0000-000000000000"

func resourceGroup() map[string]any {
	return map[string]any{
		"id":         "/subscriptions/" + standInID + "/resourceGroups/ciel",
		"name":       "ciel",
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   "local",
		"properties": map[string]any{"provisioningState": "Succeeded"},
	}
}

func subscription() map[string]any {
	return map[string]any{
		"id":             "/subscriptions/" + standInID,
		"subscriptionId": standInID,
		"tenantId":       standInID,
		"displayName":    "ciel",
	}
}

// hashArgs hashes string arguments, as uniqueString() and guid() do.
func hashArgs(fname string, a []any) ([]byte, error) {
	if len(a) == 0 {
		return nil, fmt.Errorf("%s takes at least one string", fname)
	}
	h := sha256.New()
	for _, x := range a {
		s, err := wantString(x)
		if err != nil {
			return nil, err
		}
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil), nil
}

// uniqueString stands in for ARM's: 13 lower-case base32 characters,
// deterministic in its arguments (not the same characters Azure gives).
func uniqueString(_ *evaluator, a []any) (any, error) {
	sum, err := hashArgs("uniqueString", a)
	if err != nil {
		return nil, err
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum))[:13], nil
}

// guid stands in for ARM's: a UUID deterministic in its arguments.
func guid(_ *evaluator, a []any) (any, error) {
	b, err := hashArgs("guid", a)
	if err != nil {
		return nil, err
	}
	b[6] = (b[6] & 0x0f) | 0x50
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func utcNow(ev *evaluator, a []any) (any, error) {
	layout := "20060102T150405Z"
	if len(a) > 1 {
		return nil, fmt.Errorf("takes 0 or 1 argument, got %d", len(a))
	}
	if len(a) == 1 {
		f, err := wantString(a[0])
		if err != nil {
			return nil, err
		}
		layout = dotnetLayout(f)
	}
	return ev.now().UTC().Format(layout), nil
}

// resourceID builds /subscriptions/{id}/resourceGroups/{rg}/providers/
// {type}/{name}/{child}... from a type and names (a leading subscription
// id and resource group name are taken when given).
func resourceID(_ *evaluator, a []any) (any, error) {
	var s []string
	for _, x := range a {
		str, err := wantString(x)
		if err != nil {
			return nil, err
		}
		s = append(s, str)
	}
	sub, rg := standInID, "ciel"
	i := 0
	for i < len(s) && !strings.Contains(s[i], "/") {
		i++
	}
	if i == len(s) {
		return nil, fmt.Errorf("needs a resource type (Namespace/type)")
	}
	switch i {
	case 1:
		rg = s[0]
	case 2:
		sub, rg = s[0], s[1]
	}
	typ, names := s[i], s[i+1:]
	segs := strings.Split(typ, "/")
	if len(names) != len(segs)-1 {
		return nil, fmt.Errorf("type %s needs %d name(s), got %d", typ, len(segs)-1, len(names))
	}
	id := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + segs[0]
	for k, seg := range segs[1:] {
		id += "/" + seg + "/" + names[k]
	}
	return id, nil
}
