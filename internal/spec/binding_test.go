package spec

import (
	"strings"
	"testing"
)

func TestParseBinding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want Binding
		err  bool
	}{
		{expr: "${{parent.inputs.x}}", want: Binding{Scope: "parent", Kind: "inputs", Port: "x"}},
		{expr: "${{parent.outputs.z}}", want: Binding{Scope: "parent", Kind: "outputs", Port: "z"}},
		{expr: "${{parent.jobs.a.outputs.b}}", want: Binding{Scope: "parent", Kind: "jobs", Step: "a", StepKind: "outputs", Port: "b"}},
		{expr: "${{parent.jobs.prep_job.inputs.raw-data}}", want: Binding{Scope: "parent", Kind: "jobs", Step: "prep_job", StepKind: "inputs", Port: "raw-data"}},
		{expr: "${{inputs.x}}", want: Binding{Kind: "inputs", Port: "x"}},
		{expr: "${{outputs.y}}", want: Binding{Kind: "outputs", Port: "y"}},
		{expr: "${{  parent.inputs.x\t}}", want: Binding{Scope: "parent", Kind: "inputs", Port: "x"}},
		{expr: "${{parent .inputs.x}}", err: true},
		{expr: "${{parent.inputs}}", err: true},
		{expr: "${{parent.jobs.a.b}}", err: true},
		{expr: "${{parent.jobs.a.outputs}}", err: true},
		{expr: "${{parent.params.x}}", err: true},
		{expr: "${{name}}", err: true},
		{expr: "${{inputs.1x}}", err: true},
		{expr: "${{inputs.}}", err: true},
		{expr: "${{}}", err: true},
		{expr: " ${{inputs.x}}", err: true},
		{expr: "${{inputs.x}}}", err: true},
		{expr: "${{inputs.x}}${{inputs.y}}", err: true},
		{expr: "${inputs.x}", err: true},
		{expr: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBinding(tt.expr)
			if tt.err {
				if err == nil {
					t.Fatalf("ParseBinding(%q) = %+v, want an error", tt.expr, got)
				}
				if !strings.Contains(err.Error(), "invalid binding") {
					t.Errorf("error %q does not say what is wrong", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBinding(%q): %v", tt.expr, err)
			}
			if got != tt.want {
				t.Fatalf("ParseBinding(%q) = %+v, want %+v", tt.expr, got, tt.want)
			}
			back, err := ParseBinding(got.String())
			if err != nil || back != got {
				t.Errorf("String() = %q does not parse back to the same binding", got.String())
			}
		})
	}
}

func TestIsBinding(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"${{parent.inputs.x}}":        true,
		"${{ anything }}":             true,
		"${{a}}${{b}}":                false,
		"prefix ${{parent.inputs.x}}": false,
		"${{parent.inputs.x}} ":       false,
		"${{}":                        false,
		"${{}}":                       true,
		"azureml:x:1":                 false,
	}
	for s, want := range tests {
		if got := IsBinding(s); got != want {
			t.Errorf("IsBinding(%q) = %v, want %v", s, got, want)
		}
	}
}
