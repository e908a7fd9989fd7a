package cli

import (
	"strings"
	"testing"
)

func TestBatchEndpointSets(t *testing.T) {
	t.Parallel()
	u, err := batchEndpointSets([]string{"defaults.deployment_name=blue", "description=d", "tags.team=ml"})
	if err != nil || u.Defaults == nil || u.Defaults.DeploymentName != "blue" || *u.Description != "d" || u.Tags["team"] != "ml" {
		t.Fatalf("%+v, %v", u, err)
	}
	for _, tt := range []struct{ set, want string }{
		{"defaults.deployment_name=a_b", "invalid deployment name"},
		{"traffic.blue=100", "settable fields are defaults.deployment_name"},
		{"tags.=x", "settable fields"},
		{"description", "expected path=value"},
	} {
		if _, err := batchEndpointSets([]string{tt.set}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("--set %s: %v, want %q", tt.set, err, tt.want)
		}
	}
}

func TestBatchInvokeOptsValidate(t *testing.T) {
	t.Parallel()
	base := func() *batchInvokeOpts {
		return &batchInvokeOpts{scope: scope{Workspace: "ws"}, Name: "ep", Input: "./data", output: output{Format: formatJSON}}
	}
	o := base()
	o.Sets = []string{"output_file_name=scores.csv", "mini_batch_size=3", "instance_count=2"}
	if err := o.Validate(); err != nil || o.outputFileName != "scores.csv" || o.MiniBatchSize != 3 || o.InstanceCount != 2 {
		t.Fatalf("%+v, %v", o, err)
	}
	for _, tt := range []struct {
		change func(*batchInvokeOpts)
		want   string
	}{
		{func(o *batchInvokeOpts) { o.Name = "" }, "--name is required"},
		{func(o *batchInvokeOpts) { o.Sets = []string{"inputs.x=1"} }, "give --file <inputs.yml>"},
		{func(o *batchInvokeOpts) { o.InputType = "mltable" }, "--input-type"},
		{func(o *batchInvokeOpts) { o.Sets = []string{"output_file_name=a/b.csv"} }, "expected a file name"},
		{func(o *batchInvokeOpts) { o.Sets = []string{"mini_batch_size=0"} }, "from 1 up"},
		{func(o *batchInvokeOpts) { o.Sets = []string{"retry_settings.max_retries=1"} }, "an invocation can set"},
		{func(o *batchInvokeOpts) { o.MiniBatchSize = -1 }, "must be positive"},
	} {
		o := base()
		tt.change(o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v, want %q", err, tt.want)
		}
	}
}
