package engine

import "context"

// stepSlots is how many of its compute's slots a step holds while it runs:
// one, or, for a parallel step, one per instance (Azure ML gives each of a
// parallel job's instances a node of the cluster), at most what the compute
// has.
func stepSlots(ps *PlanStep, capacity int) int {
	n := 1
	if p := ps.Parallel; p != nil && p.WorkersPerInstance > 0 {
		n = max(p.Workers/p.WorkersPerInstance, 1)
	}
	if d := ps.Distribution; d != nil {
		n = d.Instances
	}
	return max(min(n, capacity), 1)
}

// takeSlots takes n slots of sem, or none when ctx ends first. A step that
// needs several gathers them while it holds e.gathering, so two such steps
// never each hold part of what both need while waiting for the rest; the
// slots a gatherer waits for are held by steps that run to their end.
func (e *Engine) takeSlots(ctx context.Context, sem chan struct{}, n int) bool {
	if n > 1 {
		select {
		case e.gathering <- struct{}{}:
			defer func() { <-e.gathering }()
		case <-ctx.Done():
			return false
		}
	}
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for range i {
				<-sem
			}
			return false
		}
	}
	return true
}
