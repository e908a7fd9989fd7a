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
// container was first seen running (or already ended), and when the step
// was done. All times are this process's clock: the submit times are taken
// here, the others when the API server's watch delivers the change, so the
// floor and ciel are measured by the same instrument.
type recorder struct {
	keyLabel string

	mu                               sync.Mutex
	submit, created, started, doneAt map[string]time.Time
	failed                           map[string]string
	finished                         map[string]chan struct{}
}

func newRecorder(keyLabel string) *recorder {
	return &recorder{
		keyLabel: keyLabel,
		submit:   map[string]time.Time{}, created: map[string]time.Time{},
		started: map[string]time.Time{}, doneAt: map[string]time.Time{},
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

// expect registers a step before it is submitted and returns the channel
// closed when its Kubernetes Job ends (used by the floor).
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
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == mainContainer && (cs.State.Running != nil || cs.State.Terminated != nil) {
			r.first(r.started, p.Labels[r.keyLabel], time.Now())
		}
	}
}

// onJob records a Job's creation and, when endOnJob, its end (the floor
// has no other end to wait for; ciel's end is its CLI's exit).
func (r *recorder) onJob(obj any, endOnJob bool) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	key := j.Labels[r.keyLabel]
	r.first(r.created, key, time.Now())
	if !endOnJob {
		return
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			r.end(key, "")
		case batchv1.JobFailed:
			r.end(key, "kubernetes job failed: "+c.Reason+" "+c.Message)
		}
	}
}

// watch starts informers on the Jobs and pods of ns that match selector
// and returns once their caches are in sync; they stop with ctx.
func (r *recorder) watch(ctx context.Context, cs kubernetes.Interface, ns, selector string, endOnJob bool) error {
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
		AddFunc:    func(o any) { r.onJob(o, endOnJob) },
		UpdateFunc: func(_, o any) { r.onJob(o, endOnJob) },
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
