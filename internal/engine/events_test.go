package engine

import "testing"

func TestHubDelivers(t *testing.T) {
	h := &hub{}
	all, one, other := h.add("w", ""), h.add("w", "j1"), h.add("x", "")
	h.publish(Change{Workspace: "w", Job: "j1", Status: "Running"}, Change{Workspace: "w", Job: "j2", Step: "a", Status: "Queued"},
		Change{Workspace: "w", Job: "j1", Status: "Completed"})
	tests := []struct {
		name string
		sub  *Subscription
		want []uint64
	}{
		{"workspace", all, []uint64{1, 2, 3}},
		{"one job", one, []uint64{1, 3}},
		{"another workspace", other, nil},
	}
	for _, tt := range tests {
		var got []uint64
		for len(tt.sub.ch) > 0 {
			got = append(got, (<-tt.sub.ch).Seq)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got seqs %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got seqs %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	all.Close()
	all.Close()
	if _, open := <-all.C(); open {
		t.Error("a closed subscription's channel is open")
	}
}

func TestHubDropsLaggards(t *testing.T) {
	h := &hub{}
	slow, fast := h.add("w", ""), h.add("w", "")
	for i := 0; i < subscriptionBuffer+1; i++ {
		h.publish(Change{Workspace: "w", Job: "j", Status: "Running"})
		if i < subscriptionBuffer {
			<-fast.C()
		}
	}
	<-fast.C()
	n := 0
	for range slow.C() {
		n++
	}
	if !slow.Lagged() || n != subscriptionBuffer || fast.Lagged() {
		t.Errorf("slow lagged %v after %d changes, fast lagged %v", slow.Lagged(), n, fast.Lagged())
	}
	h.close()
	if _, open := <-fast.C(); open || fast.Lagged() {
		t.Error("closing the hub leaves a subscription open or calls it lagged")
	}
}
