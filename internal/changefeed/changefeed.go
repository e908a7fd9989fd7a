// Package changefeed tells subscribers that a record changed, so a live
// view (a Server-Sent Events stream of the studio) reads it again instead
// of polling. It carries no data: a notice says only which record, by
// workspace and id, and notices a subscriber has not taken yet coalesce
// into one, so a slow reader never blocks a writer nor falls behind.
//
// It is not a durable log of changes: a subscriber learns of changes made
// while it is subscribed, and reads the state itself.
package changefeed

import (
	"strings"
	"sync"
)

// Feed broadcasts change notices. The zero value is not usable; use New.
// Its methods may be called concurrently.
type Feed struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
}

// New returns an empty Feed.
func New() *Feed { return &Feed{subs: map[*Sub]struct{}{}} }

// Sub is one subscription: C fires after each change it matches.
type Sub struct {
	f      *Feed
	ws, id string
	c      chan struct{}
}

// Subscribe notices the changes of workspace ws's record id, of the
// records whose ids it prefixes when it ends in "/" ("ci/" for every
// "ci/<n>"), or of all its records when id is "". Close the Sub when done.
func (f *Feed) Subscribe(ws, id string) *Sub {
	s := &Sub{f: f, ws: ws, id: id, c: make(chan struct{}, 1)}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// Changed tells the subscribers of workspace ws's record id (and of all of
// ws's records) that it changed. It never blocks.
func (f *Feed) Changed(ws, id string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		if s.ws != ws || !s.matches(id) {
			continue
		}
		select {
		case s.c <- struct{}{}:
		default: // a notice is pending already: the reader reads once for both
		}
	}
}

// matches reports whether a change of record id is one s waits for.
func (s *Sub) matches(id string) bool {
	if s.id == "" || s.id == id {
		return true
	}
	return strings.HasSuffix(s.id, "/") && strings.HasPrefix(id, s.id)
}

// C receives a value after one or more matching changes.
func (s *Sub) C() <-chan struct{} { return s.c }

// Close ends the subscription; C receives nothing more.
func (s *Sub) Close() {
	s.f.mu.Lock()
	delete(s.f.subs, s)
	s.f.mu.Unlock()
}
