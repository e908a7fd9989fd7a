package format

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ciel-mlops/ciel/internal/dataflow/files"
	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// Codec is a dataset's compressionCodec.
type Codec string

// Codecs ciel reads; bzip2, Tar and TarGzip are read only.
const (
	NoCodec    Codec = ""
	Gzip       Codec = "gzip"
	Deflate    Codec = "deflate"
	Bzip2      Codec = "bzip2"
	ZipDeflate Codec = "ZipDeflate"
	Tar        Codec = "Tar"
	TarGzip    Codec = "TarGzip"
)

var codecs = []Codec{Gzip, Deflate, Bzip2, ZipDeflate, Tar, TarGzip}

func parseCodec(s string) (Codec, error) {
	if s == "" || strings.EqualFold(s, "none") {
		return NoCodec, nil
	}
	for _, c := range codecs {
		if strings.EqualFold(s, string(c)) {
			return c, nil
		}
	}
	return "", fmt.Errorf("compressionCodec %q is not supported: expected none, gzip, deflate, bzip2, ZipDeflate, Tar or TarGzip", s)
}

// Ext is the extension the codec adds to a generated file name.
func (c Codec) Ext() string {
	switch c {
	case Gzip:
		return ".gz"
	case Deflate:
		return ".deflate"
	case Bzip2:
		return ".bz2"
	case ZipDeflate:
		return ".zip"
	case Tar:
		return ".tar"
	case TarGzip:
		return ".tar.gz"
	}
	return ""
}

// members walks the files a stored file holds: one for a plain or
// compressed stream, every regular entry of a zip or tar archive.
type members struct {
	raw  io.ReadCloser
	next func() (io.Reader, string, error) // io.EOF after the last
	done func()
}

func (m *members) close() error {
	if m.done != nil {
		m.done()
	}
	return m.raw.Close()
}

// decode opens the members of r under codec c. A zip archive needs
// random access, which every files.FS reader gives (io.ReaderAt and
// io.Seeker).
func decode(r io.ReadCloser, name string, c Codec) (*members, error) {
	m := &members{raw: r}
	switch c {
	case ZipDeflate:
		ra, ok := r.(interface {
			io.ReaderAt
			io.Seeker
		})
		if !ok {
			return nil, fmt.Errorf("%s: a zip archive needs random access", name)
		}
		size, err := ra.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		zr, err := zip.NewReader(ra, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		i := 0
		var cur io.ReadCloser
		m.done = func() {
			if cur != nil {
				cur.Close()
			}
		}
		m.next = func() (io.Reader, string, error) {
			m.done()
			for ; i < len(zr.File); i++ {
				f := zr.File[i]
				if f.FileInfo().IsDir() {
					continue
				}
				i++
				rc, err := f.Open()
				cur = rc
				return rc, name + "/" + f.Name, err
			}
			return nil, "", io.EOF
		}
		return m, nil
	case Tar, TarGzip:
		var src io.Reader = r
		if c == TarGzip {
			gz, err := gzip.NewReader(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			src = gz
		}
		tr := tar.NewReader(src)
		m.next = func() (io.Reader, string, error) {
			for {
				h, err := tr.Next()
				if err != nil {
					return nil, "", err
				}
				if h.Typeflag == tar.TypeReg {
					return tr, name + "/" + path.Clean(h.Name), nil
				}
			}
		}
		return m, nil
	}
	var one io.Reader
	switch c {
	case NoCodec:
		one = r
	case Gzip:
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		one = gz
	case Deflate:
		fr := flate.NewReader(r)
		m.done = func() { fr.Close() }
		one = fr
	case Bzip2:
		one = bzip2.NewReader(r)
	}
	m.next = func() (io.Reader, string, error) {
		if one == nil {
			return nil, "", io.EOF
		}
		out := one
		one = nil
		return out, name, nil
	}
	return m, nil
}

// level maps ADF's compressionLevel to a flate level.
func level(s string) (int, error) {
	switch strings.ToLower(s) {
	case "":
		return flate.DefaultCompression, nil
	case "optimal":
		return flate.BestCompression, nil
	case "fastest":
		return flate.BestSpeed, nil
	}
	return 0, fmt.Errorf("compressionLevel %q: expected Optimal or Fastest", s)
}

// encode wraps w in the codec's compressor; closing it flushes the
// compressor (not w). entry names a zip archive's one file.
func encode(w io.Writer, c Codec, lvl int, entry string) (io.WriteCloser, error) {
	switch c {
	case NoCodec:
		return nopCloser{w}, nil
	case Gzip:
		return gzip.NewWriterLevel(w, lvl)
	case Deflate:
		return flate.NewWriter(w, lvl)
	case ZipDeflate:
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, lvl) })
		fw, err := zw.Create(entry)
		if err != nil {
			return nil, err
		}
		return &zipEntry{Writer: fw, zw: zw}, nil
	}
	return nil, fmt.Errorf("compressionCodec %s is read only: write none, gzip, deflate or ZipDeflate", c)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type zipEntry struct {
	io.Writer
	zw *zip.Writer
}

func (z *zipEntry) Close() error { return z.zw.Close() }

// errClosed is returned by a reader or writer used after Close, Commit or
// Abort.
var errClosed = errors.New("used after close")

// textSink is the stack a text format writes through: characters
// encoded (when not UTF-8), compressed, buffered, into a file that is
// visible only once committed.
type textSink struct {
	f    files.File
	bw   *bufio.Writer
	zw   io.WriteCloser
	enc  io.WriteCloser // nil for UTF-8
	out  io.Writer      // the top of the stack: enc, or zw
	done bool
}

// openTextSink builds the stack over f; on an error f is aborted.
func openTextSink(f files.File, c Codec, lvl int, entry string, charset encoding.Encoding) (textSink, error) {
	bw := bufio.NewWriterSize(f, 256<<10)
	zw, err := encode(bw, c, lvl, entry)
	if err != nil {
		f.Abort()
		return textSink{}, err
	}
	s := textSink{f: f, bw: bw, zw: zw, out: zw}
	if charset != nil {
		s.enc = transform.NewWriter(zw, charset.NewEncoder())
		s.out = s.enc
	}
	return s, nil
}

// commit writes last, closes the stack from the top and commits the
// file; on any error the file is aborted.
func (s *textSink) commit(last []byte) error {
	_, err := s.out.Write(last)
	if s.enc != nil && err == nil {
		err = s.enc.Close()
	}
	if err == nil {
		err = s.zw.Close()
	}
	if err == nil {
		err = s.bw.Flush()
	}
	if err != nil {
		s.f.Abort()
		return err
	}
	return s.f.Commit()
}

// abort drops the file, once.
func (s *textSink) abort() error {
	if s.done {
		return nil
	}
	s.done = true
	return s.f.Abort()
}
