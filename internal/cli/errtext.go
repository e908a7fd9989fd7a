package cli

import (
	"errors"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// ErrorText is what the ciel command prints for err: its message and, for a
// YAML syntax error, the line at fault with a caret under the column.
func ErrorText(err error) string {
	msg := err.Error()
	var se *spec.Error
	if errors.As(err, &se) {
		if s := se.Snippet(); s != "" {
			msg += "\n" + s
		}
	}
	return msg
}
