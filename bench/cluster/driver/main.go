// Command driver runs the steps of bench/cluster and measures them: the
// floor (bare Kubernetes Jobs, each created by its own `kubectl create`)
// and ciel (one single-step command job per step, each submitted by its
// own `ciel job create --stream`, round-robin over the replicas), each
// with the same number of steps in flight, watched through the same
// informers. bench/cluster/run.sh starts the cluster and the servers and
// calls it.
//
// Usage:
//
//	driver image OUT.tar                      write the steps' image, print its reference
//	driver floor [-init] [flags]              run the floor (with an init container and a volume), append its result to -out
//	driver ciel -homes H1,H2 [flags]          run ciel on those replicas' CIEL_HOMEs, append to -out
//	driver table RESULTS.jsonl                print the results side by side
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "image":
		if len(os.Args) != 3 {
			usage()
		}
		var ref string
		if ref, err = stepImage(os.Args[2]); err == nil {
			fmt.Println(ref)
		}
	case "floor", "ciel":
		err = runVariant(os.Args[1], os.Args[2:])
	case "table":
		if len(os.Args) != 3 {
			usage()
		}
		err = printTable(os.Stdout, os.Args[2])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: driver image OUT.tar | floor [flags] | ciel -homes H1,H2 [flags] | table RESULTS.jsonl")
	os.Exit(2)
}

// options are the flags of floor and ciel.
type options struct {
	n, c, warmup      int
	ns, kubeconfig    string
	image, id, out    string
	kubectl, ciel     string
	homes             []string
	init              bool
	workdir           string
	stepTimeout       time.Duration
	cs                kubernetes.Interface
	variant, selector string
}

func parseOptions(variant string, args []string) (*options, error) {
	o := &options{variant: variant}
	fs := flag.NewFlagSet(variant, flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 1000, "steps")
	fs.IntVar(&o.c, "c", 8, "steps in flight at once")
	fs.IntVar(&o.warmup, "warmup", 2, "steps run (one at a time) before the measured ones, not counted")
	fs.StringVar(&o.ns, "ns", "ciel", "namespace")
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig")
	fs.StringVar(&o.image, "image", "", "the steps' image (from driver image)")
	fs.StringVar(&o.id, "id", fmt.Sprintf("%x", time.Now().Unix()), "run id (lowercase letters and digits), part of every name")
	fs.StringVar(&o.out, "out", "", "append the result (a JSON line) to this file")
	fs.StringVar(&o.kubectl, "kubectl", "kubectl", "kubectl binary (floor)")
	fs.StringVar(&o.ciel, "ciel", "ciel", "ciel binary (ciel)")
	fs.BoolVar(&o.init, "init", false, "give each floor Job an init container that runs true and an emptyDir volume the two share (floor)")
	homes := fs.String("homes", "", "comma-separated CIEL_HOMEs of the replicas (ciel)")
	fs.StringVar(&o.workdir, "workdir", os.TempDir(), "folder for the job files (ciel)")
	fs.DurationVar(&o.stepTimeout, "step-timeout", 5*time.Minute, "longest a step may take")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *homes != "" {
		o.homes = strings.Split(*homes, ",")
	}
	switch {
	case o.n < 1 || o.c < 1 || o.warmup < 0:
		return nil, fmt.Errorf("-n and -c must be positive, -warmup not negative")
	case o.image == "" || o.out == "":
		return nil, fmt.Errorf("-image and -out are required")
	case variant == "ciel" && len(o.homes) == 0:
		return nil, fmt.Errorf("ciel needs -homes")
	}
	for _, r := range o.id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return nil, fmt.Errorf("-id %q: lowercase letters and digits only", o.id)
		}
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 50, 100
	if o.cs, err = kubernetes.NewForConfig(rc); err != nil {
		return nil, err
	}
	return o, nil
}

// runVariant runs the floor or ciel and appends the result to -out.
func runVariant(variant string, args []string) error {
	o, err := parseOptions(variant, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var s stepper
	if variant == "floor" {
		s, err = newFloor(ctx, o)
	} else {
		s, err = newCiel(ctx, o)
	}
	if err != nil {
		return err
	}
	warm := make([]string, o.warmup)
	for i := range warm {
		warm[i] = s.key("w", i)
	}
	runAll(ctx, s, warm, 1)
	keys := make([]string, o.n)
	for i := range keys {
		keys[i] = s.key("s", i)
	}
	t0 := time.Now()
	runAll(ctx, s, keys, o.c)
	fmt.Fprintf(os.Stderr, "driver: %s: %d steps in %s\n", s.name(), o.n, time.Since(t0).Round(time.Millisecond))
	if f, ok := s.(*floor); ok {
		f.waitComplete(keys)
	}
	res := summarize(s.name(), len(o.homes), o, s.rec(), keys)
	cleanErr := cleanup(o)
	if err := appendResult(o.out, res); err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%s: %d of %d steps failed, the first: %s", s.name(), res.Failed, o.n, res.FirstError)
	}
	return cleanErr
}
