package blob

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
)

// maxTarEntries bounds the files IngestTar keeps, counting copies made for
// links to folders, which could otherwise multiply without end.
const maxTarEntries = 1 << 20

// ErrBadArchive is returned by IngestTar for a stream that is not a
// well-formed tar archive, that ends early, or that holds too many entries:
// the sender's fault, unlike a failure to store.
var ErrBadArchive = errors.New("bad tar archive")

// tarLink is a link entry of a tar stream, kept until every file is known.
type tarLink struct {
	name   string
	target string // tree path, "" for the root
}

// IngestTar stores the regular files of an uncompressed tar stream and the
// tree listing them, and returns the tree's digest. Entries with an absolute
// path or a ".." element, and links whose target is absolute or leaves the
// archive, fail with ErrUnsafePath. Links inside the archive become copies of
// their target (a link to a folder copies the folder's files); dangling links,
// folder entries, devices and pipes are dropped. A later entry replaces an
// earlier one of the same name, as tar does. A malformed or truncated
// stream fails with ErrBadArchive; an error reading r comes back wrapped as
// it is. Blobs of files stored before a failure stay (other trees may share
// them); a failed Put leaves nothing.
func IngestTar(ctx context.Context, s Store, r io.Reader) (string, error) {
	src := &readErr{r: r}
	tr := tar.NewReader(src)
	files := make(map[string]Entry)
	links := make(map[string]tarLink)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read tar: %w", src.blame(err))
		}
		name, err := tarPath(hdr.Name)
		if err != nil {
			return "", fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
			if name == "" {
				return "", fmt.Errorf("tar entry %q: %w: file at the root", hdr.Name, ErrUnsafePath)
			}
			data := &readErr{r: tr}
			d, n, err := s.Put(ctx, data)
			if err != nil {
				if data.err != nil {
					err = src.blame(data.err)
				}
				return "", fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
			mode := ModeFile
			if hdr.Mode&0o111 != 0 {
				mode = ModeExec
			}
			delete(links, name)
			files[name] = Entry{Path: name, Digest: d, Size: n, Mode: mode}
		case tar.TypeSymlink, tar.TypeLink:
			if name == "" {
				return "", fmt.Errorf("tar entry %q: %w: link at the root", hdr.Name, ErrUnsafePath)
			}
			target, err := linkTarget(name, hdr)
			if err != nil {
				return "", fmt.Errorf("tar entry %q: %w", hdr.Name, err)
			}
			delete(files, name)
			links[name] = tarLink{name: name, target: target}
		}
		if len(files)+len(links) > maxTarEntries {
			return "", fmt.Errorf("%w: over %d entries", ErrBadArchive, maxTarEntries)
		}
	}
	if err := resolveLinks(files, links); err != nil {
		return "", err
	}
	return PutTree(ctx, s, Tree{Entries: slices.Collect(maps.Values(files))})
}

// readErr remembers the first error, other than io.EOF, of a reader.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// blame returns err, an error of the tar reader, marked as the archive's
// fault (ErrBadArchive) unless the stream under it failed (a broken
// connection, a size limit), which comes back as it is.
func (e *readErr) blame(err error) error {
	if e.err != nil {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBadArchive, err)
}

// tarPath turns a tar entry name into a tree path; "" is the root.
func tarPath(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute path", ErrUnsafePath)
	}
	for el := range strings.SplitSeq(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: \"..\" in path", ErrUnsafePath)
		}
	}
	p := path.Clean(name)
	if p == "." {
		return "", nil
	}
	if err := checkPath(p); err != nil {
		return "", err
	}
	return p, nil
}

// linkTarget returns the tree path a link entry points to. A symbolic link
// is relative to its folder; a hard link names another entry of the archive.
func linkTarget(name string, hdr *tar.Header) (string, error) {
	if hdr.Typeflag == tar.TypeLink {
		return tarPath(hdr.Linkname)
	}
	if hdr.Linkname == "" || strings.HasPrefix(hdr.Linkname, "/") {
		return "", fmt.Errorf("%w: link to %q", ErrUnsafePath, hdr.Linkname)
	}
	t := path.Join(path.Dir(name), hdr.Linkname)
	if t == ".." || strings.HasPrefix(t, "../") {
		return "", fmt.Errorf("%w: link to %q leaves the archive", ErrUnsafePath, hdr.Linkname)
	}
	if t == "." {
		return "", nil
	}
	if err := checkPath(t); err != nil {
		return "", err
	}
	return t, nil
}

// resolveLinks replaces links by copies of their targets. Links to files,
// possibly through other links, go first; then links to folders one at a
// time, since a copied folder may hold targets of other links. Links still
// unresolved at the end dangle and are dropped.
func resolveLinks(files map[string]Entry, links map[string]tarLink) error {
	for len(links) > 0 {
		progress := false
		for _, name := range slices.Sorted(maps.Keys(links)) {
			if e, ok := files[links[name].target]; ok {
				e.Path = name
				files[name] = e
				delete(links, name)
				progress = true
			}
		}
		if progress {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(links)) {
			if copyFolder(files, name, links[name].target) {
				delete(links, name)
				progress = true
				break
			}
		}
		if !progress {
			return nil
		}
		if len(files) > maxTarEntries {
			return fmt.Errorf("%w: links expand to over %d files", ErrBadArchive, maxTarEntries)
		}
	}
	return nil
}

// copyFolder adds, under name, a copy of every file under the folder target
// and reports whether there was any. Files already present are kept.
func copyFolder(files map[string]Entry, name, target string) bool {
	prefix := target + "/"
	if target == "" {
		prefix = ""
	}
	var found []Entry
	for p, e := range files {
		if strings.HasPrefix(p, prefix) && !strings.HasPrefix(p, name+"/") {
			found = append(found, e)
		}
	}
	for _, e := range found {
		p := name + "/" + strings.TrimPrefix(e.Path, prefix)
		if _, ok := files[p]; !ok {
			e.Path = p
			files[p] = e
		}
	}
	return len(found) > 0
}

// WriteTar writes the tree named by digest to w as an uncompressed tar
// stream: a folder entry before the first file under it, then each file with
// its mode. Times, owners and order are fixed, so a tree always gives the same
// bytes and IngestTar of them gives the same digest back.
func WriteTar(ctx context.Context, s Store, digest string, w io.Writer) error {
	t, err := GetTree(ctx, s, digest)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	written := make(map[string]bool)
	for _, e := range t.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeTarDirs(tw, written, path.Dir(e.Path), epoch); err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.Path, Size: e.Size, Mode: int64(e.Mode), ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write tar %s: %w", e.Path, err)
		}
		if err := copyBlob(ctx, s, e, tw); err != nil {
			return fmt.Errorf("write tar %s: %w", e.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	return nil
}

// writeTarDirs writes folder entries for dir and its parents not yet written.
func writeTarDirs(tw *tar.Writer, written map[string]bool, dir string, mtime time.Time) error {
	if dir == "." || written[dir] {
		return nil
	}
	if err := writeTarDirs(tw, written, path.Dir(dir), mtime); err != nil {
		return err
	}
	written[dir] = true
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write tar %s: %w", dir, err)
	}
	return nil
}

// copyBlob copies the content of e to w and checks its size.
func copyBlob(ctx context.Context, s Store, e Entry, w io.Writer) error {
	rc, err := s.Open(ctx, e.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, e.Size+1))
	if err != nil {
		return err
	}
	if n != e.Size {
		return fmt.Errorf("blob %s has %d bytes, tree says %d", e.Digest, n, e.Size)
	}
	return nil
}
