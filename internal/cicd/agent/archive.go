package agent

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// archiveFiles carries out ArchiveFiles@2 (archiveType zip, or tar with
// tarCompression gz or none).
func (r *jobRun) archiveFiles(in map[string]string) error {
	bin, _ := r.vars.lookup("Build.BinariesDirectory")
	root := r.resolve(firstNonEmpty(in["rootfolderorfile"], bin))
	typ := strings.ToLower(firstNonEmpty(in["archivetype"], "zip"))
	comp := strings.ToLower(firstNonEmpty(in["tarcompression"], "gz"))
	stage, _ := r.vars.lookup("Build.ArtifactStagingDirectory")
	id, _ := r.vars.lookup("Build.BuildId")
	ext := ".zip"
	if typ == "tar" {
		ext = ".tar.gz"
		if comp == "none" {
			ext = ".tar"
		}
	}
	file := r.resolve(firstNonEmpty(in["archivefile"], filepath.Join(stage, firstNonEmpty(id, "archive")+ext)))
	includeRoot := in["includerootfolder"] == "" || isTrue(in["includerootfolder"])
	if in["replaceexistingarchive"] == "" || isTrue(in["replaceexistingarchive"]) {
		_ = os.Remove(file)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("ArchiveFiles: %w", err)
	}
	base := root
	if includeRoot {
		base = filepath.Dir(root)
	}
	r.out.line(fmt.Sprintf("Creating archive: %s", file))
	var err error
	switch {
	case typ == "zip":
		err = writeZip(file, root, base)
	case typ == "tar" && (comp == "gz" || comp == "none"):
		err = writeTar(file, root, base, comp == "gz")
	default:
		err = fmt.Errorf("archiveType %q with tarCompression %q is not supported (zip, tar with gz or none)", typ, comp)
	}
	if err != nil {
		return fmt.Errorf("ArchiveFiles: %w", err)
	}
	return nil
}

// eachFile walks root and calls fn with each entry's archive name (relative
// to base, slash-separated).
func eachFile(root, base string, fn func(path, name string, d fs.DirEntry) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(base, p)
		if err != nil || rel == "." {
			return err
		}
		return fn(p, filepath.ToSlash(rel), d)
	})
}

func writeZip(file, root, base string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	err = eachFile(root, base, func(p, name string, d fs.DirEntry) error {
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name = name
		if d.IsDir() {
			h.Name += "/"
			_, err = zw.CreateHeader(h)
			return err
		}
		h.Method = zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		return copyInto(w, p)
	})
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func writeTar(file, root, base string, gz bool) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	tw := tar.NewWriter(w)
	err = eachFile(root, base, func(p, name string, d fs.DirEntry) error {
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !d.IsDir() && !info.Mode().IsRegular() {
			return nil
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = name
		if err := tw.WriteHeader(h); err != nil || d.IsDir() {
			return err
		}
		return copyInto(tw, p)
	})
	closers := []io.Closer{tw}
	if zw != nil {
		closers = append(closers, zw)
	}
	for _, c := range append(closers, f) {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func copyInto(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// extractFiles carries out ExtractFiles@1 for .zip, .tar, .tar.gz and .tgz.
func (r *jobRun) extractFiles(in map[string]string) error {
	if in["destinationfolder"] == "" {
		return errors.New("ExtractFiles: input destinationFolder is required")
	}
	dst := r.resolve(in["destinationfolder"])
	if in["cleandestinationfolder"] == "" || isTrue(in["cleandestinationfolder"]) {
		if err := os.RemoveAll(dst); err != nil {
			return fmt.Errorf("ExtractFiles: %w", err)
		}
	}
	archives, err := r.findArchives(firstNonEmpty(in["archivefilepatterns"], "**/*.zip"))
	if err != nil {
		return fmt.Errorf("ExtractFiles: %w", err)
	}
	if len(archives) == 0 {
		return fmt.Errorf("ExtractFiles: no archive matches %q", in["archivefilepatterns"])
	}
	for _, a := range archives {
		r.out.line("Extracting file: " + a)
		if err := extract(a, dst); err != nil {
			return fmt.Errorf("ExtractFiles: %s: %w", a, err)
		}
	}
	return nil
}

// findArchives resolves archiveFilePatterns: absolute paths as they are,
// patterns under System.DefaultWorkingDirectory.
func (r *jobRun) findArchives(patterns string) ([]string, error) {
	var out, globs []string
	for _, p := range strings.Split(patterns, "\n") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case !strings.ContainsAny(p, "*?") && !strings.HasPrefix(p, "!"):
			out = append(out, r.resolve(p))
		default:
			if filepath.IsAbs(strings.TrimPrefix(p, "!")) {
				neg := strings.HasPrefix(p, "!")
				rel, err := filepath.Rel(filepath.Join(r.dir, "s"), strings.TrimPrefix(p, "!"))
				if err != nil {
					return nil, err
				}
				p = rel
				if neg {
					p = "!" + p
				}
			}
			globs = append(globs, p)
		}
	}
	if len(globs) > 0 {
		src := filepath.Join(r.dir, "s")
		found, err := walkMatches(src, newMatcher(strings.Join(globs, "\n")), false)
		if err != nil {
			return nil, err
		}
		for _, f := range found {
			out = append(out, filepath.Join(src, f))
		}
	}
	return out, nil
}

// extract unpacks archive into dst, refusing entries that leave dst.
func extract(archive, dst string) error {
	lower := strings.ToLower(archive)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		return extractZip(archive, dst)
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"), strings.HasSuffix(lower, ".tar"):
		return extractTar(archive, dst, !strings.HasSuffix(lower, ".tar"))
	}
	return errors.New("unsupported archive type (zip, tar, tar.gz, tgz)")
}

// safeJoin joins an archive entry name to dst, refusing escapes.
func safeJoin(dst, name string) (string, error) {
	p := filepath.Join(dst, filepath.FromSlash(name))
	if p != filepath.Clean(dst) && !strings.HasPrefix(p, filepath.Clean(dst)+string(os.PathSeparator)) {
		return "", fmt.Errorf("entry %q leaves the destination folder", name)
	}
	return p, nil
}

func extractZip(archive, dst string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p, err := safeJoin(dst, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeEntry(p, rc, f.Mode().Perm())
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func extractTar(archive, dst string, gz bool) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	var rd io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer zr.Close()
		rd = zr
	}
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := safeJoin(dst, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntry(p, tr, os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		}
	}
}

func writeEntry(p string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if mode == 0 {
		mode = 0o644
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
