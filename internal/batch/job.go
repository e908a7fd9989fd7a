package batch

import (
	"context"

	"github.com/ciel-mlops/ciel/internal/spec"
)

// scoringJob builds the job that scores an invocation's input with a
// deployment.
func (s *Service) scoringJob(ctx context.Context, d Deployment, in Invocation, inputType string) (*spec.Job, error) {
	return nil, invalidf("batch endpoint invocation is not available yet in this build: it runs as a parallel job")
}
