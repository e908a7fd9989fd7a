package changefeed

import (
	"sync"
	"testing"
)

func pending(s *Sub) bool {
	select {
	case <-s.C():
		return true
	default:
		return false
	}
}

func TestFeedMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		subWS, subID string
		ws, id       string
		wantNotice   bool
	}{
		{"same record", "ws", "7", "ws", "7", true},
		{"other record", "ws", "7", "ws", "8", false},
		{"whole workspace", "ws", "", "ws", "8", true},
		{"other workspace", "ws", "", "other", "8", false},
		{"same id in another workspace", "ws", "7", "other", "7", false},
		{"prefix", "ws", "ci/", "ws", "ci/7", true},
		{"other prefix", "ws", "ci/", "ws", "df/7", false},
		{"prefix without its slash is an id", "ws", "ci", "ws", "ci/7", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := New()
			s := f.Subscribe(tc.subWS, tc.subID)
			defer s.Close()
			f.Changed(tc.ws, tc.id)
			if got := pending(s); got != tc.wantNotice {
				t.Fatalf("notice = %v, want %v", got, tc.wantNotice)
			}
		})
	}
}

func TestFeedCoalescesAndCloses(t *testing.T) {
	t.Parallel()
	f := New()
	s := f.Subscribe("ws", "1")
	for range 100 {
		f.Changed("ws", "1") // never blocks on a reader that does not read
	}
	if !pending(s) {
		t.Fatal("no notice after 100 changes")
	}
	if pending(s) {
		t.Fatal("100 changes left more than one notice")
	}
	s.Close()
	f.Changed("ws", "1")
	if pending(s) {
		t.Fatal("a closed subscription got a notice")
	}
	var nilFeed *Feed
	nilFeed.Changed("ws", "1") // a nil feed tells no one
}

func TestFeedConcurrent(t *testing.T) {
	t.Parallel()
	f := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 200 {
				f.Changed("ws", "x")
			}
		}()
		go func() {
			defer wg.Done()
			s := f.Subscribe("ws", "")
			defer s.Close()
			_ = i
			pending(s)
		}()
	}
	wg.Wait()
}
