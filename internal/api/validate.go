package api

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// What a client sends is checked here before it reaches the engine, the
// registry or the disk: names that become paths follow Azure ML's rules, and
// paths are uploaded content, never the server's own files (spec's
// CheckSubmitted functions).

// submitted answers a spec's *spec.FieldError as a 400 naming the field;
// other errors pass through.
func submitted(err error) error {
	var fe *spec.FieldError
	if errors.As(err, &fe) {
		return badRequest(fe.Field, "%s", fe.Error())
	}
	return err
}

// checkAsset checks an asset spec decoded from a request.
func checkAsset(v any) error {
	switch x := v.(type) {
	case *spec.Data:
		return submitted(spec.CheckSubmittedData(x))
	case *spec.Environment:
		return submitted(spec.CheckSubmittedEnvironment(x))
	case *spec.Component:
		return submitted(spec.CheckSubmittedComponent(x))
	case *spec.Compute:
		return submitted(spec.CheckSubmittedCompute(x))
	}
	return nil
}

// checkStep checks the step a log request names: a leaf step as the engine
// names it ("main", "train", "outer/inner"), so that it is one folder of
// the job's and nothing else.
func checkStep(step string) error {
	if !spec.IsStepPath(step) {
		return badRequest("step", "bad step name %q: expected a step name (letters, digits, '_' or '-'), or nested steps joined with '/'", step)
	}
	return nil
}

// readErr describes a failed read of a file under CIEL_HOME without the
// file's path, which is the server's business, not the client's.
func readErr(what string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("read %s: %w", what, err)
}
