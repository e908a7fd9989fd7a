package imagebuild

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// libResolver finds shared libraries the way the host's dynamic loader
// (ld.so) does: DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH with
// $ORIGIN expanded, the directories of /etc/ld.so.conf (which ld.so.cache
// indexes), then the default directories. It reads ELF headers only,
// never runs anything, so it also works for libraries of another program
// than ldd would load.
type libResolver struct {
	system []string           // ld.so.conf directories, then the defaults
	match  map[string]bool    // path -> whether it is an ELF of the wanted class and machine
	deps   map[string]elfDeps // parsed headers by path
}

// elfDeps is what the loader needs from one ELF file.
type elfDeps struct {
	isELF   bool
	class   elf.Class
	machine elf.Machine
	interp  string
	needed  []string
	rpath   []string
	runpath []string
}

func newLibResolver() *libResolver {
	dirs := ldSoConf("/etc/ld.so.conf", 0)
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	return &libResolver{system: dedupe(dirs), match: map[string]bool{}, deps: map[string]elfDeps{}}
}

// ldSoConf reads the library directories of an ld.so.conf file, following
// its include lines.
func ldSoConf(path string, depth int) []string {
	f, err := os.Open(path)
	if err != nil || depth > 8 {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "include "):
			pattern := strings.TrimSpace(strings.TrimPrefix(line, "include "))
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(path), pattern)
			}
			matches, _ := filepath.Glob(pattern)
			sort.Strings(matches)
			for _, m := range matches {
				dirs = append(dirs, ldSoConf(m, depth+1)...)
			}
		case filepath.IsAbs(line):
			dirs = append(dirs, line)
		}
	}
	return dirs
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// read parses the headers of the file at path; a file that is not ELF
// has isELF false.
func (r *libResolver) read(path string) (elfDeps, error) {
	if d, ok := r.deps[path]; ok {
		return d, nil
	}
	d, err := readELF(path)
	if err != nil {
		return elfDeps{}, err
	}
	r.deps[path] = d
	return d, nil
}

func readELF(path string) (elfDeps, error) {
	fh, err := os.Open(path)
	if err != nil {
		return elfDeps{}, err
	}
	defer fh.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(fh, magic); err != nil || !bytes.Equal(magic, []byte(elf.ELFMAG)) {
		return elfDeps{}, nil
	}
	f, err := elf.NewFile(fh)
	if err != nil {
		return elfDeps{}, nil // not an ELF we can read: not ours to load
	}
	d := elfDeps{isELF: true, class: f.Class, machine: f.Machine}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err == nil {
				d.interp = string(bytes.TrimRight(b, "\x00"))
			}
		}
	}
	if f.Section(".dynamic") == nil && dynProg(f) == nil {
		return d, nil
	}
	d.needed, _ = f.ImportedLibraries()
	for _, tag := range []elf.DynTag{elf.DT_RPATH, elf.DT_RUNPATH} {
		vals, _ := f.DynString(tag)
		var dirs []string
		for _, v := range vals {
			dirs = append(dirs, filepath.SplitList(v)...)
		}
		if tag == elf.DT_RPATH {
			d.rpath = dirs
		} else {
			d.runpath = dirs
		}
	}
	return d, nil
}

func dynProg(f *elf.File) *elf.Prog {
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			return p
		}
	}
	return nil
}

// resolve returns the path of the library name needed by the object at
// from, or "" when the loader would not find it.
func (r *libResolver) resolve(from string, d elfDeps, name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	origin := filepath.Dir(from)
	var dirs []string
	if len(d.runpath) == 0 {
		dirs = append(dirs, d.rpath...)
	}
	dirs = append(dirs, d.runpath...)
	for i, dir := range dirs {
		dir = strings.ReplaceAll(dir, "${ORIGIN}", origin)
		dirs[i] = strings.ReplaceAll(dir, "$ORIGIN", origin)
	}
	for _, dir := range append(dirs, r.system...) {
		p := filepath.Join(dir, name)
		if r.usable(p, d) {
			return p
		}
	}
	return ""
}

// usable reports whether p is an ELF file of the class and machine of d,
// as the loader skips a 32-bit library found first in a directory.
func (r *libResolver) usable(p string, d elfDeps) bool {
	key := fmt.Sprintf("%s\x00%d\x00%d", p, d.class, d.machine)
	if ok, seen := r.match[key]; seen {
		return ok
	}
	lib, err := r.read(p)
	ok := err == nil && lib.isELF && lib.class == d.class && lib.machine == d.machine
	r.match[key] = ok
	return ok
}

// mayBeELF reports whether a file is worth opening: shared objects and
// executables.
func mayBeELF(e *entry) bool {
	return e.Type == typeReg && e.Source != "" && (e.Mode&0o100 != 0 || strings.Contains(filepath.Base(e.Path), ".so"))
}

// addClosure adds to s every shared library (and the loader) that an ELF
// file of s, or of the layers in below, needs and that neither holds yet,
// with the libraries those need in turn. It returns the names no
// directory provides, for the log: the loader would fail on them too on
// the host, so they are reported, not fatal.
func (s *fileSet) addClosure(r *libResolver) ([]string, error) {
	queue := s.sorted()
	done := map[string]bool{}
	var missing []string
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		if done[e.Source] || !mayBeELF(e) {
			continue
		}
		done[e.Source] = true
		d, err := r.read(e.Source)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e.Source, err)
		}
		if !d.isELF {
			continue
		}
		var libs []string
		if d.interp != "" {
			libs = append(libs, d.interp)
		}
		for _, n := range d.needed {
			p := r.resolve(e.Source, d, n)
			if p == "" {
				p = s.loadedAlready(e.Source, n)
			}
			if p == "" {
				missing = append(missing, fmt.Sprintf("%s (needed by %s)", n, e.Path))
				continue
			}
			libs = append(libs, p)
		}
		for _, p := range libs {
			if err := s.addPath(p); err != nil {
				missing = append(missing, fmt.Sprintf("%s (needed by %s): %v", p, e.Path, err))
				continue
			}
			// A library in a layer below is not in s.entries: that
			// layer holds its closure already.
			if real, err := filepath.EvalSymlinks(p); err == nil && !done[real] {
				if ne, ok := s.entries[real]; ok {
					queue = append(queue, ne)
				}
			}
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// loadedAlready finds a library the search path misses but the loader
// still finds because another object loaded it first under that name:
// auditwheel's bundled libraries (scipy.libs/libgfortran needing
// libquadmath beside it, without a DT_RUNPATH) rely on it. It looks beside
// the needing object, then for any file of the image with that name.
func (s *fileSet) loadedAlready(from, name string) string {
	if p := filepath.Join(filepath.Dir(from), name); s.has(p) {
		return p
	}
	var found []string
	for p, e := range s.entries {
		if e.Type == typeReg && filepath.Base(p) == name {
			found = append(found, p)
		}
	}
	sort.Strings(found)
	if len(found) > 0 {
		return found[0]
	}
	return ""
}
