package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ciel-mlops/ciel/internal/compute"
	"github.com/ciel-mlops/ciel/internal/compute/staging"
)

// fatalWaiting are the reasons a container waits that do not resolve by
// waiting longer; ciel's own retries (retry_settings) are the remedy.
var fatalWaiting = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// waiter follows one Job's pod to the end of its main container.
type waiter struct {
	x       *Executor
	ns      string
	job     *batchv1.Job
	log     io.Writer
	start   time.Time
	timeout time.Duration

	initLogged  bool
	running     bool
	logsDone    chan struct{}
	stopLogs    context.CancelFunc
	logged      int64 // bytes the stream copied, read once logsDone is closed
	waitingNode bool
}

// outcome is how a wait ended.
type outcome struct {
	res compute.Result
	err error
}

// wait watches the Job's pods until the main container ends, the pod cannot
// start, the Job fails or ctx is done.
func (w *waiter) wait(ctx context.Context) (compute.Result, error) {
	sel := labels.Set{batchv1.JobNameLabel: w.job.Name}.String()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	var deadline <-chan time.Time
	if w.timeout > 0 {
		// activeDeadlineSeconds ends the Job; this is the backstop should
		// the controller be slow to say so.
		t := time.NewTimer(w.timeout + 30*time.Second)
		defer t.Stop()
		deadline = t.C
	}
	for {
		watcher, err := w.x.cs.CoreV1().Pods(w.ns).Watch(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			if ctx.Err() != nil {
				return compute.Result{}, ctx.Err()
			}
			fmt.Fprintf(w.log, "[ciel] watch pods of job %s: %v; retrying\n", w.job.Name, err)
			time.Sleep(time.Second)
			continue
		}
		out, done := w.follow(ctx, watcher.ResultChan(), tick.C, deadline)
		watcher.Stop()
		if done {
			return out.res, out.err
		}
	}
}

// follow handles events until one ends the wait (done) or the watch closes.
func (w *waiter) follow(ctx context.Context, events <-chan watch.Event, tick, deadline <-chan time.Time) (outcome, bool) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return outcome{}, false
			}
			pod, isPod := ev.Object.(*corev1.Pod)
			if !isPod {
				continue
			}
			if out, done := w.observe(ctx, pod); done {
				return out, true
			}
		case <-tick:
			if out, done := w.checkJob(ctx); done {
				return out, true
			}
		case <-deadline:
			fmt.Fprintf(w.log, "[ciel] job %s still running %s past its timeout\n", w.job.Name, 30*time.Second)
			return outcome{res: compute.Result{TimedOut: true, ExitCode: -1}}, true
		case <-ctx.Done():
			return outcome{err: ctx.Err()}, true
		}
	}
}

// checkJob ends the wait when the Job itself failed: past its deadline
// (a timeout) or for a reason no pod shows.
func (w *waiter) checkJob(ctx context.Context) (outcome, bool) {
	j, err := w.x.cs.BatchV1().Jobs(w.ns).Get(ctx, w.job.Name, metav1.GetOptions{})
	if err != nil {
		return outcome{}, false
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue || (c.Type != batchv1.JobFailed && c.Type != batchv1.JobFailureTarget) {
			continue
		}
		if c.Reason == batchv1.JobReasonDeadlineExceeded {
			w.waitLogs("")
			fmt.Fprintf(w.log, "[ciel] job %s: %s\n", w.job.Name, c.Message)
			return outcome{res: compute.Result{TimedOut: true, ExitCode: -1}}, true
		}
		// The pod's own end says more (its exit code, its outputs), if
		// it is still there to read; a pod deleted under the step is not.
		pods, err := w.x.cs.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: w.job.Name}.String()})
		if err == nil {
			for i := range pods.Items {
				if out, done := w.observe(ctx, &pods.Items[i]); done {
					return out, true
				}
			}
		}
		w.waitLogs("")
		return outcome{err: fmt.Errorf("kubernetes job %s failed: %s: %s", w.job.Name, c.Reason, c.Message)}, true
	}
	return outcome{}, false
}

// observe looks at one state of the pod.
func (w *waiter) observe(ctx context.Context, pod *corev1.Pod) (outcome, bool) {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			if err := w.unschedulable(ctx, pod, c.Message); err != nil {
				return outcome{err: err}, true
			}
		}
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if out, done := w.stageIn(ctx, pod, cs); done {
			return out, true
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != containerMain {
			continue
		}
		if wt := cs.State.Waiting; wt != nil && fatalWaiting[wt.Reason] {
			return outcome{err: fmt.Errorf("container of image %s cannot start: %s: %s", cs.Image, wt.Reason, wt.Message)}, true
		}
		if (cs.State.Running != nil || cs.State.Terminated != nil) && !w.running {
			w.running = true
			fmt.Fprintf(w.log, "[ciel] pod %s running after %s\n", pod.Name, time.Since(w.start).Round(time.Millisecond))
			w.logsDone = make(chan struct{})
			sctx, stop := context.WithCancel(ctx)
			w.stopLogs = stop
			go w.streamLogs(sctx, pod.Name)
		}
		if t := cs.State.Terminated; t != nil {
			return w.finished(pod, t), true
		}
	}
	if pod.Status.Phase == corev1.PodFailed && !w.running {
		return outcome{err: fmt.Errorf("pod %s failed before the step started: %s: %s", pod.Name, pod.Status.Reason, pod.Status.Message)}, true
	}
	return outcome{}, false
}

// stageIn follows the stage-in container: a start it cannot make or a
// failure ends the wait; its log goes into the step's once it is done.
func (w *waiter) stageIn(ctx context.Context, pod *corev1.Pod, cs corev1.ContainerStatus) (outcome, bool) {
	if wt := cs.State.Waiting; wt != nil && fatalWaiting[wt.Reason] {
		return outcome{err: fmt.Errorf("the stage-in container (helper image %s) cannot start: %s: %s", cs.Image, wt.Reason, wt.Message)}, true
	}
	t := cs.State.Terminated
	if t == nil || w.initLogged {
		return outcome{}, false
	}
	w.initLogged = true
	w.copyLogs(ctx, pod.Name, containerStageIn, 0)
	if t.ExitCode != 0 {
		rep, _ := staging.ParseReport(t.Message)
		why := rep.Error
		if why == "" {
			why = fmt.Sprintf("exit code %d (%s)", t.ExitCode, t.Reason)
		}
		return outcome{err: fmt.Errorf("stage inputs into pod %s: %s", pod.Name, why)}, true
	}
	return outcome{}, false
}

// finished reads the main container's end: its exit code and the helper's
// report of the outputs.
func (w *waiter) finished(pod *corev1.Pod, t *corev1.ContainerStateTerminated) outcome {
	w.waitLogs(pod.Name)
	res := compute.Result{ExitCode: int(t.ExitCode)}
	if t.ExitCode != 0 && w.pastDeadline() {
		fmt.Fprintf(w.log, "[ciel] job %s: stopped at its deadline (activeDeadlineSeconds)\n", w.job.Name)
		return outcome{res: compute.Result{TimedOut: true, ExitCode: -1}}
	}
	if t.Reason == "OOMKilled" {
		fmt.Fprintf(w.log, "[ciel] pod %s: the step ran out of memory (OOMKilled)\n", pod.Name)
	}
	rep, err := staging.ParseReport(t.Message)
	if err != nil {
		return outcome{res: res, err: err}
	}
	if rep.Error != "" {
		fmt.Fprintf(w.log, "[ciel] %s\n", rep.Error)
		if res.ExitCode == 0 {
			return outcome{res: res, err: errors.New(rep.Error)}
		}
	}
	res.Collected = rep.Collected
	if res.Collected == nil {
		res.Collected = map[string]string{}
	}
	return outcome{res: res}
}

// pastDeadline reports whether the step ran into its timeout: the Job says
// DeadlineExceeded, or the timeout has passed since the Job was created
// (the pod may end before the controller records why).
func (w *waiter) pastDeadline() bool {
	if w.timeout <= 0 {
		return false
	}
	if time.Since(w.start) >= w.timeout {
		return true
	}
	j, err := w.x.cs.BatchV1().Jobs(w.ns).Get(context.Background(), w.job.Name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
			return true
		}
	}
	return false
}

// streamLogs copies the main container's output into the step's log as it
// comes.
func (w *waiter) streamLogs(ctx context.Context, pod string) {
	defer close(w.logsDone)
	rc, err := w.x.cs.CoreV1().Pods(w.ns).GetLogs(pod, &corev1.PodLogOptions{Container: containerMain, Follow: true}).Stream(ctx)
	if err != nil {
		fmt.Fprintf(w.log, "[ciel] read the log of pod %s: %v\n", pod, err)
		return
	}
	defer rc.Close()
	w.logged, _ = io.Copy(w.log, rc)
}

// logLag is how long the log stream may take to reach the end of a
// container that has ended.
const logLag = 10 * time.Second

// waitLogs waits for the log stream to reach its end. A stream that lags
// (a loaded node) is stopped, and the rest of the ended container's log is
// read whole from pod instead, so the step's log ends as the container's
// did; with pod "" (a Job that failed, its pod maybe gone) the stream is
// only stopped.
func (w *waiter) waitLogs(pod string) {
	if w.logsDone == nil {
		return
	}
	defer w.stopLogs()
	select {
	case <-w.logsDone:
		return
	case <-time.After(logLag):
	}
	w.stopLogs()
	<-w.logsDone
	if pod == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w.copyLogs(ctx, pod, containerMain, w.logged)
}

// copyAfter copies src to dst, skipping its first skip bytes (what an
// earlier reading of the same log already copied).
func copyAfter(dst io.Writer, src io.Reader, skip int64) error {
	if _, err := io.CopyN(io.Discard, src, skip); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	_, err := io.Copy(dst, src)
	return err
}

// copyLogs appends a finished container's log to the step's, less its
// first skip bytes (what an earlier reading already copied).
func (w *waiter) copyLogs(ctx context.Context, pod, container string, skip int64) {
	rc, err := w.x.cs.CoreV1().Pods(w.ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	if err != nil {
		fmt.Fprintf(w.log, "[ciel] read the log of %s in pod %s: %v\n", container, pod, err)
		return
	}
	defer rc.Close()
	_ = copyAfter(w.log, rc, skip)
}

// unschedulable fails the step when no node of the cluster could ever hold
// the pod (too big for every node, or a selector no node matches); a
// cluster that is only busy is waited on.
func (w *waiter) unschedulable(ctx context.Context, pod *corev1.Pod, msg string) error {
	nodes, err := w.x.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil // cannot tell: keep waiting
	}
	if fitsSomeNode(pod, nodes.Items) {
		if !w.waitingNode {
			w.waitingNode = true
			fmt.Fprintf(w.log, "[ciel] waiting for room on a node: %s\n", msg)
		}
		return nil
	}
	return fmt.Errorf("pod %s cannot be scheduled on any node of the cluster: %s", pod.Name, strings.TrimSpace(msg))
}

// fitsSomeNode reports whether some node matches the pod's node selector
// and has, empty, the allocatable resources its containers request.
func fitsSomeNode(pod *corev1.Pod, nodes []corev1.Node) bool {
	want := corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		for name, q := range c.Resources.Requests {
			sum := want[name]
			sum.Add(q)
			want[name] = sum
		}
		for name, q := range c.Resources.Limits {
			if _, ok := c.Resources.Requests[name]; !ok {
				sum := want[name]
				sum.Add(q)
				want[name] = sum
			}
		}
	}
	sel := labels.SelectorFromSet(pod.Spec.NodeSelector)
	for _, n := range nodes {
		if !sel.Matches(labels.Set(n.Labels)) {
			continue
		}
		fits := true
		for name, q := range want {
			have, ok := n.Status.Allocatable[name]
			if !ok || have.Cmp(q) < 0 {
				fits = false
				break
			}
		}
		if fits {
			return true
		}
	}
	return false
}
