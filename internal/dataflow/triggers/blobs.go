package triggers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"
)

// maxWatchedBlobs bounds the files one storage event trigger lists, so a
// trigger on a huge folder fails clearly instead of exhausting memory.
const maxWatchedBlobs = 100000

// listBlobs lists the files under a storage event trigger's folder that
// match its path filters. A folder that does not exist yet holds nothing.
func (s *Service) listBlobs(ctx context.Context, ws string, b *blobEvents) ([]Blob, error) {
	if s.cfg.Datastores == nil {
		return nil, errors.New("storage event triggers need datastores, and this service has none")
	}
	fsys, err := s.cfg.Datastores.FS(ctx, ws, b.datastore)
	if err != nil {
		return nil, fmt.Errorf("datastore %s: %w", b.datastore, err)
	}
	var out []Blob
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := fsys.List(ctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("datastore %s: list %q: %w", b.datastore, dir, err)
		}
		for _, e := range entries {
			p := e.Path
			if p == "" {
				p = path.Join(dir, e.Name)
			}
			if e.Dir {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			if !b.matches(p) {
				continue
			}
			if len(out) == maxWatchedBlobs {
				return fmt.Errorf("datastore %s: more than %d files under %q; narrow blobPathBeginsWith", b.datastore, maxWatchedBlobs, dir)
			}
			out = append(out, Blob{Path: p, Size: e.Size, ModTime: e.ModTime.UTC()})
		}
		return nil
	}
	if err := walk(b.root); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// pollBlobs lists a started storage event trigger's datastore when it is
// due a look and fires once for each blob created (new, or changed since it
// was last seen, and unchanged since the listing before) or deleted.
func (s *Service) pollBlobs(ctx context.Context, st State, c *compiled, now time.Time) error {
	key := st.Workspace + "\x00" + st.Name
	s.mu.Lock()
	last, seen := s.polled[key]
	if seen && now.Sub(last) < s.cfg.PollEvery {
		s.mu.Unlock()
		return nil
	}
	s.polled[key] = now
	pending := s.settle[key]
	if s.revs[key] != st.Revision { // restarted since: what was pending is moot
		pending = nil
	}
	s.mu.Unlock()

	current, err := s.listBlobs(ctx, st.Workspace, c.blobs)
	if err != nil {
		return err
	}
	known, err := s.cfg.Store.ListBlobs(ctx, st.Workspace, st.Name)
	if err != nil {
		return err
	}
	old := make(map[string]Blob, len(known))
	for _, b := range known {
		old[b.Path] = b
	}
	next := map[string]Blob{}
	var errs []error
	for _, b := range current {
		prev, had := old[b.Path]
		delete(old, b.Path)
		if had && sameBlob(prev, b) {
			continue
		}
		if p, ok := pending[b.Path]; !ok || !sameBlob(p, b) {
			next[b.Path] = b // first seen like this: fire when it holds still
			continue
		}
		errs = append(errs, s.blobEvent(ctx, st, c.blobs, b, false, now))
	}
	for _, b := range old {
		errs = append(errs, s.blobEvent(ctx, st, c.blobs, b, true, now))
	}
	s.mu.Lock()
	s.settle[key], s.revs[key] = next, st.Revision
	s.mu.Unlock()
	return errors.Join(errs...)
}

func sameBlob(a, b Blob) bool { return a.Size == b.Size && a.ModTime.Equal(b.ModTime) }

// blobEvent records blob b as seen (or gone) and, when the trigger fires
// on that event, a run for it in the same transaction, then starts the
// run's pipelines.
func (s *Service) blobEvent(ctx context.Context, st State, be *blobEvents, b Blob, gone bool, now time.Time) error {
	event := EventBlobCreated
	fire := be.created && !(be.ignoreZero && b.Size == 0)
	if gone {
		event, fire = EventBlobDeleted, be.deleted
	}
	if !fire {
		return s.cfg.Store.RecordBlob(ctx, st.Workspace, st.Name, b, gone, nil)
	}
	folder, file := path.Split(b.Path)
	folder = path.Clean("/" + folder)[1:]
	props := map[string]string{"EventType": event, "FileName": file, "FolderPath": folder}
	scope := map[string]any{"outputs": map[string]any{"body": map[string]any{
		"fileName": file, "folderPath": folder, "eventType": event, "size": b.Size,
		"lastModified": fmtSecond(b.ModTime)}}}
	r := newRun(st, now, props, scope)
	if err := s.cfg.Store.RecordBlob(ctx, st.Workspace, st.Name, b, gone, &r); err != nil {
		return err
	}
	s.log.Info("storage event trigger fired", "workspace", st.Workspace, "trigger", st.Name, "event", event, "path", b.Path)
	return s.fireRun(ctx, r, st.Definition)
}
