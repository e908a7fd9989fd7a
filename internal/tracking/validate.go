package tracking

import (
	"path"
	"regexp"
)

// MLflow's limits on what one call may log.
const (
	maxKeyLength      = 250
	maxParamValue     = 6000
	maxTagValue       = 8000
	maxBatchMetrics   = 1000
	maxBatchParamsTag = 100
	maxBatchEntities  = 1000
)

// keyRE is MLflow's rule for metric, param and tag names: alphanumerics,
// underscores, periods, dashes, colons, spaces and slashes.
var keyRE = regexp.MustCompile(`^[/\w.\- :]*$`)

// runIDRE is MLflow's rule for run IDs.
var runIDRE = regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)

// checkKey checks a metric, param or tag name as MLflow does.
func checkKey(what, key string) error {
	switch {
	case key == "":
		return missing("key")
	case len(key) > maxKeyLength:
		return invalidf("%s name '%s' exceeds the maximum length of %d characters", what, key[:32]+"...", maxKeyLength)
	case !keyRE.MatchString(key):
		return invalidf("Invalid %s name: '%s'. Names may only contain alphanumerics, underscores (_), dashes (-), "+
			"periods (.), spaces ( ), colon(:) and slashes (/).", what, key)
	}
	if n := path.Clean(key); n != key || n == "." || n == ".." || len(n) > 1 && n[:2] == ".." || n[0] == '/' {
		return invalidf("Invalid %s name: '%s'. Names may be treated as files in certain cases, and must not "+
			"resolve to other names when treated as such. This name would resolve to '%s'", what, key, n)
	}
	return nil
}

func checkTag(key, value string) error {
	if err := checkKey("tag", key); err != nil {
		return err
	}
	if len(value) > maxTagValue {
		return invalidf("Tag value for key '%s' exceeds the maximum length of %d characters", key, maxTagValue)
	}
	return nil
}

func checkParam(key, value string) error {
	if err := checkKey("param", key); err != nil {
		return err
	}
	if len(value) > maxParamValue {
		return invalidf("Param value for key '%s' exceeds the maximum length of %d characters", key, maxParamValue)
	}
	return nil
}

func checkMetric(m Metric) error { return checkKey("metric", m.Key) }

// checkRunID checks a run ID's shape, so a malformed one is a clear error.
func checkRunID(id string) error {
	if id == "" {
		return missing("run_id")
	}
	if !runIDRE.MatchString(id) {
		return invalidf("Invalid value \"%s\" for parameter 'run_id' supplied.", id)
	}
	return nil
}
