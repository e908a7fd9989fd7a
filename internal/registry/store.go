package registry

import "context"

// Store keeps registered models and their versions. Backends live in
// internal/store/<backend> and pass the suite in registry/registrytest.
//
// All methods may be called concurrently. A method that returns nil has
// made its write durable. Errors match store.ErrNotFound when the workspace,
// model or version named does not exist and store.ErrConflict when a name
// or version number is taken.
type Store interface {
	// CreateModel creates m; ErrConflict when the name is taken in the
	// workspace, ErrNotFound when the workspace does not exist. Zero
	// CreatedAt and UpdatedAt are set to now.
	CreateModel(ctx context.Context, m Model) error
	// GetModel returns a model with its aliases.
	GetModel(ctx context.Context, ws, name string) (Model, error)
	// ListModels returns a workspace's models ordered by name; ErrNotFound
	// when the workspace does not exist.
	ListModels(ctx context.Context, ws string) ([]Model, error)
	// UpdateModel applies fn to the stored model and stores the result
	// (Description, Tags, UpdatedAt) atomically: no other write to the
	// model comes between the read and the write. fn runs inside the
	// store's write transaction, must not block, and may return an error to
	// change nothing.
	UpdateModel(ctx context.Context, ws, name string, fn func(*Model) error) (Model, error)
	// RenameModel renames a model; its versions and aliases follow.
	// ErrConflict when newName is taken.
	RenameModel(ctx context.Context, ws, name, newName string) (Model, error)
	// DeleteModel deletes a model with its versions and aliases.
	DeleteModel(ctx context.Context, ws, name string) error

	// CreateVersion stores v under its model. v.Version 0 takes the next
	// number (one above the highest ever given under the name); an explicit
	// number taken already is ErrConflict. The model's LastVersion and
	// UpdatedAt move with it. Returns v as stored.
	CreateVersion(ctx context.Context, v Version) (Version, error)
	// GetVersion returns one version with its aliases.
	GetVersion(ctx context.Context, ws, name string, version int) (Version, error)
	// ListVersions returns the versions of one model (every model's when
	// name is ""), ordered by name then version number. ErrNotFound when
	// the workspace, or the named model, does not exist.
	ListVersions(ctx context.Context, ws, name string) ([]Version, error)
	// UpdateVersion applies fn to the stored version and stores the result
	// (Type, Description, Source, Storage, Status, StatusMessage, Stage,
	// Tags, Archived, Lineage, UpdatedAt) atomically, as UpdateModel does.
	UpdateVersion(ctx context.Context, ws, name string, version int, fn func(*Version) error) (Version, error)
	// DeleteVersion deletes a version and the aliases pointing at it.
	DeleteVersion(ctx context.Context, ws, name string, version int) error

	// SetAlias points alias at a version of the model, moving it if it
	// pointed elsewhere; ErrNotFound when the version does not exist.
	SetAlias(ctx context.Context, ws, name, alias string, version int) error
	// DeleteAlias removes an alias; ErrNotFound when the model has none by
	// that name.
	DeleteAlias(ctx context.Context, ws, name, alias string) error
}
