package tracking

import (
	"context"
	"io"

	"github.com/ciel-mlops/ciel/internal/artifacts"
)

// ArtifactStore is where the artifact proxy keeps run and logged-model
// artifacts: a folder (artifacts/local) or a bucket (artifacts/s3). Paths
// are relative to workspace ws's root, slash-separated; every method
// validates ws and rel itself (artifacts.ErrBadPath for one that climbs
// with "..", holds a NUL byte or is otherwise unsafe), so no name reaches
// the disk or a key unchecked. Methods may be called concurrently.
type ArtifactStore interface {
	// Put stores body (size bytes, -1 when unknown) as the file rel,
	// replacing one there, and returns the replaced file's size (0 for
	// none). Readers never see half a file; on error nothing is left. A
	// folder in the way wraps artifacts.ErrPathTaken. An error of body's
	// Read may come back wrapped.
	Put(ctx context.Context, ws, rel string, body io.Reader, size int64) (int64, error)
	// Open opens the file rel; a missing file, or a folder, wraps
	// fs.ErrNotExist.
	Open(ctx context.Context, ws, rel string) (artifacts.File, error)
	// List returns the entries of folder rel ("" the root), by name; a
	// file or a missing path lists as nothing.
	List(ctx context.Context, ws, rel string) ([]artifacts.Entry, error)
	// Delete removes the file or folder rel; a missing one is no error.
	Delete(ctx context.Context, ws, rel string) error
	// Usage returns the bytes ws's files hold, for the quota.
	Usage(ctx context.Context, ws string) (int64, error)
}

// DirectUploads is what a store offers when clients can move bytes to and
// from it without the server: presigned multipart uploads and presigned
// downloads (artifacts/s3). A store without it takes multipart uploads
// through the proxy, parts and all.
type DirectUploads interface {
	// CreateUpload starts an upload of the file rel in parts parts and
	// returns its ID and the URL each part is PUT to.
	CreateUpload(ctx context.Context, ws, rel string, parts int) (artifacts.Upload, error)
	// CompleteUpload joins the parts into the file rel; an unknown upload
	// wraps artifacts.ErrNoUpload, parts the store lacks
	// artifacts.ErrBadPart.
	CompleteUpload(ctx context.Context, ws, rel, id string, parts []artifacts.Part) error
	// AbortUpload abandons an upload; an unknown one wraps
	// artifacts.ErrNoUpload.
	AbortUpload(ctx context.Context, ws, rel, id string) error
	// DownloadURL returns a URL the file rel can be read from with GET
	// (Range requests too), and its size; a missing file wraps
	// fs.ErrNotExist.
	DownloadURL(ctx context.Context, ws, rel string) (string, int64, error)
}
