package cli

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/progress"
)

// uploadFunc uploads a local file or directory and returns the reference
// that replaces its path in a spec ("blob:sha256:<hex>").
type uploadFunc func(ctx context.Context, localPath string) (string, error)

// uploader returns the uploadFunc that sends tars to workspace ws.
func uploader(cl *client.Client, ws string) uploadFunc {
	return func(ctx context.Context, localPath string) (string, error) {
		return uploadPath(ctx, cl, ws, localPath)
	}
}

// uploadPath streams a tar of localPath (a directory, or a single file)
// into the workspace's datastore; nothing is written to disk or cached.
func uploadPath(ctx context.Context, cl *client.Client, ws, localPath string) (string, error) {
	pr, pw := io.Pipe()
	tarDone := make(chan error, 1)
	go func() {
		err := writeTar(pw, localPath)
		pw.CloseWithError(err)
		tarDone <- err
	}()
	meter := progress.Reader(pr, progress.Terminal(), "Uploading "+localPath)
	up, err := cl.Upload(ctx, ws, meter)
	meter.Done()
	pr.CloseWithError(errUploadEnded) // unblocks the writer if the server stopped reading
	if tarErr := <-tarDone; tarErr != nil && !errors.Is(tarErr, errUploadEnded) {
		return "", fmt.Errorf("upload %s: %w", localPath, tarErr) // the cause, not the request it broke
	}
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", localPath, err)
	}
	return "blob:" + up.Digest, nil
}

// errUploadEnded stops a tar writer whose reader has gone.
var errUploadEnded = errors.New("upload ended")

// isLocalPath reports whether p names a path on this machine rather than a
// reference the server resolves (azureml:, blob:, or any URL).
func isLocalPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "azureml:") || strings.HasPrefix(p, "blob:") {
		return false
	}
	return !strings.Contains(p, "://")
}

// writeTar writes an uncompressed tar of root to w. A directory's tree is
// written with paths relative to it, leaving out what ignoredNames and the
// root's .amlignore (or else .gitignore) name; a single file is written as
// one entry under its base name. Entries are in lexical order with zeroed
// times and owners, so the same tree makes the same stream. Symbolic links
// to files are followed; other links and special files are left out.
func writeTar(w io.Writer, root string) error {
	info, err := os.Stat(root)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if !info.IsDir() {
		if err := addFile(tw, root, filepath.Base(root), info); err != nil {
			return err
		}
		return tw.Close()
	}
	ign, err := loadIgnore(root)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ign.match(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return addEntry(tw, p, rel, d)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// addEntry writes one walked entry: a directory header, a file, or the
// file a symbolic link points at.
func addEntry(tw *tar.Writer, p, rel string, d fs.DirEntry) error {
	switch {
	case d.IsDir():
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, Format: tar.FormatPAX})
	case d.Type().IsRegular():
		info, err := d.Info()
		if err != nil {
			return err
		}
		return addFile(tw, p, rel, info)
	case d.Type()&fs.ModeSymlink != 0:
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() {
			return nil // dangling, or a link to a directory: left out
		}
		return addFile(tw, p, rel, info)
	}
	return nil
}

func addFile(tw *tar.Writer, p, name string, info fs.FileInfo) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     int64(info.Mode().Perm()),
		Size:     info.Size(),
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.CopyN(tw, f, info.Size()); err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	return nil
}

// ignoredNames are never uploaded, wherever they are in the tree.
var ignoredNames = []string{".git", "__pycache__", ".ipynb_checkpoints"}

// ignoreRule is one line of an ignore file.
type ignoreRule struct {
	pattern string
	dirOnly bool // the line ended in "/"
	rooted  bool // the line started with "/", or has a "/" inside
}

// ignoreList is what a code root's .amlignore (or, without one, its
// .gitignore) asks to leave out. Like Azure ML it understands the simple
// glob lines: blank lines and "#" comments are skipped; "name", "*.log"
// match a base name anywhere; "dir/" matches only directories; "/build" and
// "data/*.csv" match the path from the root. Negation ("!") and "**" are
// not supported; such lines match nothing.
type ignoreList []ignoreRule

// loadIgnore reads root/.amlignore, or root/.gitignore when there is none.
func loadIgnore(root string) (ignoreList, error) {
	for _, name := range []string{".amlignore", ".gitignore"} {
		f, err := os.Open(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return parseIgnore(f)
	}
	return nil, nil
}

func parseIgnore(r io.Reader) (ignoreList, error) {
	var list ignoreList
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") || strings.Contains(line, "**") {
			continue
		}
		var rule ignoreRule
		if strings.HasSuffix(line, "/") {
			rule.dirOnly = true
			line = strings.TrimRight(line, "/")
		}
		if strings.HasPrefix(line, "/") || strings.Contains(line, "/") {
			rule.rooted = true
			line = strings.TrimLeft(line, "/")
		}
		if _, err := path.Match(line, ""); err != nil || line == "" {
			continue // a malformed pattern matches nothing
		}
		rule.pattern = line
		list = append(list, rule)
	}
	return list, sc.Err()
}

// match reports whether rel (slash-separated, relative to the root) is
// left out of the upload.
func (l ignoreList) match(rel string, isDir bool) bool {
	base := path.Base(rel)
	for _, n := range ignoredNames {
		if base == n {
			return true
		}
	}
	for _, r := range l {
		if r.dirOnly && !isDir {
			continue
		}
		if ok, _ := path.Match(r.pattern, rel); ok {
			return true
		}
		if !r.rooted {
			if ok, _ := path.Match(r.pattern, base); ok {
				return true
			}
		}
	}
	return false
}

// uploadedFolder is the name a local model path keeps once registered:
// its base name when it is a folder, as Azure ML lays out a registered
// folder in AZUREML_MODEL_DIR; "" for a file, which sits at the root.
func uploadedFolder(localPath string) string {
	fi, err := os.Stat(localPath)
	if err != nil || !fi.IsDir() {
		return ""
	}
	abs, err := filepath.Abs(localPath)
	if err != nil {
		return ""
	}
	name := filepath.Base(abs)
	if name == string(filepath.Separator) || name == "." {
		return ""
	}
	return name
}
