package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// mainContainer is the name of the container that runs the step, in the
// floor's pods and in ciel's alike.
const mainContainer = "main"

// recorder keeps, per step (keyed by a label on its Job and pod), when the
// driver submitted it, when the Job was first seen, when the pod's main
// container was first seen running (or already ended), when the step was
// done and when its Job was seen Complete. All times are this process's
// clock: the submit times are taken here, the others when the API server's
// watch delivers the change, so the floor and ciel are measured by the same
// instrument.
type recorder struct {
	keyLabel string
	// endOnPod: a step ends when its main container is seen terminated
	// (the floor; ciel's steps end when its CLI exits).
	endOnPod bool

	mu                               sync.Mutex
	submit, created, started, doneAt map[string]time.Time
	complete                         map[string]time.Time
	// initEnd: the init container seen terminated; mainEnd: the main
	// container seen terminated (where a step's time goes in its pod).
	initEnd, mainEnd map[string]time.Time
	failed           map[string]string
	finished         map[string]chan struct{}
}

func newRecorder(keyLabel string, endOnPod bool) *recorder {
	return &recorder{
		keyLabel: keyLabel, endOnPod: endOnPod,
		submit: map[string]time.Time{}, created: map[string]time.Time{},
		started: map[string]time.Time{}, doneAt: map[string]time.Time{},
		complete: map[string]time.Time{}, initEnd: map[string]time.Time{}, mainEnd: map[string]time.Time{},
		failed: map[string]string{}, finished: map[string]chan struct{}{},
	}
}

// first records t under key in m unless a time is there already.
func (r *recorder) first(m map[string]time.Time, key string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := m[key]; !ok && key != "" {
		m[key] = t
	}
}

// expect registers a step as it is submitted and returns the channel
// closed when it ends.
func (r *recorder) expect(key string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{})
	r.finished[key] = ch
	r.submit[key] = time.Now()
	return ch
}

// end records that a step is done, failed when why is not "".
func (r *recorder) end(key, why string) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.doneAt[key]; ok {
		return
	}
	r.doneAt[key] = now
	if why != "" {
		r.failed[key] = why
	}
	if ch, ok := r.finished[key]; ok {
		close(ch)
	}
}

func (r *recorder) onPod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Labels[r.keyLabel]
	for _, cs := range p.Status.InitContainerStatuses {
		if cs.State.Terminated != nil {
			r.first(r.initEnd, key, time.Now())
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != mainContainer || (cs.State.Running == nil && cs.State.Terminated == nil) {
			continue
		}
		r.first(r.started, key, time.Now())
		if cs.State.Terminated != nil {
			r.first(r.mainEnd, key, time.Now())
		}
		if t := cs.State.Terminated; t != nil && r.endOnPod {
			why := ""
			if t.ExitCode != 0 {
				why = fmt.Sprintf("exit code %d: %s", t.ExitCode, t.Reason)
			}
			r.end(key, why)
		}
	}
}

// onJob records a Job's creation and its Complete condition; a failed Job
// ends a step that ends on its pod (whose container may never have run).
func (r *recorder) onJob(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	key := j.Labels[r.keyLabel]
	r.first(r.created, key, time.Now())
	for _, c := range j.Status.Conditions {
		switch {
		case c.Status != corev1.ConditionTrue:
		case c.Type == batchv1.JobComplete:
			r.first(r.complete, key, time.Now())
		case c.Type == batchv1.JobFailed && r.endOnPod:
			r.end(key, "kubernetes job failed: "+c.Reason+" "+c.Message)
		}
	}
}

// watch starts informers on the Jobs and pods of ns that match selector
// and returns once their caches are in sync; they stop with ctx.
func (r *recorder) watch(ctx context.Context, cs kubernetes.Interface, ns, selector string) error {
	tweak := func(o *metav1.ListOptions) { o.LabelSelector = selector }
	podLW := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			return cs.CoreV1().Pods(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			return cs.CoreV1().Pods(ns).Watch(ctx, o)
		},
	}
	jobLW := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			return cs.BatchV1().Jobs(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			return cs.BatchV1().Jobs(ns).Watch(ctx, o)
		},
	}
	pods := cache.NewSharedIndexInformer(podLW, &corev1.Pod{}, 0, cache.Indexers{})
	jobs := cache.NewSharedIndexInformer(jobLW, &batchv1.Job{}, 0, cache.Indexers{})
	if _, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.onPod,
		UpdateFunc: func(_, o any) { r.onPod(o) },
	}); err != nil {
		return err
	}
	if _, err := jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.onJob,
		UpdateFunc: func(_, o any) { r.onJob(o) },
	}); err != nil {
		return err
	}
	go pods.RunWithContext(ctx)
	go jobs.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, jobs.HasSynced) {
		return fmt.Errorf("watch the pods and jobs of %s: caches did not sync", ns)
	}
	return nil
}
