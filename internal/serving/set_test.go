package serving

import (
	"errors"
	"testing"

	"github.com/ciel-mlops/ciel/internal/spec"
)

func TestApplySets(t *testing.T) {
	base := spec.OnlineDeployment{Name: "blue", EndpointName: "svc", InstanceCount: 2,
		EnvironmentVariables: map[string]string{"A": "1"}, Model: &spec.DeploymentModel{Path: "blob:sha256:ab"}}
	tests := []struct {
		name string
		sets []string
		want func(spec.OnlineDeployment) bool
		err  bool
	}{
		{"instance count", []string{"instance_count=3"}, func(d spec.OnlineDeployment) bool { return d.InstanceCount == 3 && d.Model.Path == "blob:sha256:ab" }, false},
		{"nested new", []string{"request_settings.request_timeout_ms=5000"}, func(d spec.OnlineDeployment) bool {
			return d.RequestSettings != nil && d.RequestSettings.RequestTimeoutMS == 5000 && d.InstanceCount == 2
		}, false},
		{"env var kept and added", []string{"environment_variables.B=two"}, func(d spec.OnlineDeployment) bool {
			return d.EnvironmentVariables["A"] == "1" && d.EnvironmentVariables["B"] == "two"
		}, false},
		{"unknown key", []string{"instance_cnt=3"}, nil, true},
		{"wrong type", []string{"instance_count=many"}, nil, true},
		{"name", []string{"name=green"}, nil, true},
		{"no value", []string{"instance_count"}, nil, true},
		{"deep", []string{"a.b.c.d.e=1"}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applySets(base, tc.sets)
			if tc.err {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || !tc.want(got) {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}
