package spec

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPipelineJobAsComponent(t *testing.T) {
	dir := t.TempDir()
	inner := `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
inputs:
  msg: hello
  n: 3
outputs:
  out: {type: uri_folder}
jobs:
  say:
    type: command
    inputs: {m: "${{parent.inputs.msg}}"}
    outputs: {o: "${{parent.outputs.out}}"}
    command: echo ${{inputs.m}} > ${{outputs.o}}/m.txt
`
	if err := os.WriteFile(filepath.Join(dir, "inner.yml"), []byte(inner), 0o644); err != nil {
		t.Fatal(err)
	}
	outer := `type: pipeline
jobs:
  sub:
    type: pipeline
    component: ./inner.yml
    inputs: {msg: nested}
`
	p := filepath.Join(dir, "outer.yml")
	if err := os.WriteFile(p, []byte(outer), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := ParseJobFile(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := j.Jobs["sub"].Component.Inline
	if c == nil || c.Type != JobPipeline || c.Jobs["say"] == nil {
		t.Fatalf("component = %+v", c)
	}
	if d := c.Inputs["msg"]; d == nil || d.Type != TypeString || d.Default == nil || *d.Default != "hello" {
		t.Errorf("msg decl = %+v", d)
	}
	if d := c.Inputs["n"]; d == nil || d.Type != TypeInteger {
		t.Errorf("n decl = %+v", d)
	}
	if o := c.Outputs["out"]; o == nil || o.Type != TypeURIFolder {
		t.Errorf("out decl = %+v", o)
	}
}
