package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/ciel-mlops/ciel/client"
	"github.com/ciel-mlops/ciel/internal/datastore"
	"github.com/ciel-mlops/ciel/internal/datastore/folder"
	"github.com/ciel-mlops/ciel/internal/datastore/s3"
	"github.com/ciel-mlops/ciel/internal/spec"
	"github.com/ciel-mlops/ciel/internal/store"
)

func (s *server) datastoreRoutes(h func(string, handlerFunc)) {
	s.initDatastores()
	h("POST /api/v1/workspaces/{ws}/datastores", s.createDatastore)
	h("GET /api/v1/workspaces/{ws}/datastores", s.listDatastores)
	h("GET /api/v1/workspaces/{ws}/datastores/{name}", s.getDatastore)
	h("DELETE /api/v1/workspaces/{ws}/datastores/{name}", s.deleteDatastore)
}

// initDatastores builds the datastore service over the metadata store, when
// it keeps datastores: job outputs come from jobLineage, the default
// datastores are folders under CIEL_HOME/datastores.
func (s *server) initDatastores() {
	if s.data != nil {
		return
	}
	dst, ok := s.st.(datastore.Store)
	if !ok {
		return
	}
	s.data = datastore.New(datastore.Config{
		Store: dst, Blobs: s.blobs, Jobs: jobOutputs{s}, Open: openDatastore,
		DefaultRoot: filepath.Join(s.cfg.Home, "datastores"), Home: s.cfg.Home, Logger: s.log,
	})
}

// openDatastore opens the backend of a datastore's type.
func openDatastore(ds datastore.Datastore) (datastore.Backend, error) {
	switch ds.Type {
	case datastore.TypeLocal:
		return folder.New(ds.Path)
	case datastore.TypeS3:
		return s3.New(s3.Config{Endpoint: ds.Endpoint, Bucket: ds.Bucket, Prefix: ds.Prefix, Region: ds.Region,
			AccessKeyIDEnv: ds.AccessKeyIDEnv, SecretAccessKeyEnv: ds.SecretAccessKeyEnv})
	}
	return nil, fmt.Errorf("datastore type %q cannot be opened", ds.Type)
}

// jobOutputs is the datastore service's view of job outputs.
type jobOutputs struct{ s *server }

// JobOutput returns the tree of a job's output.
func (j jobOutputs) JobOutput(ctx context.Context, ws, job, output string) (string, error) {
	d, _, err := jobLineage(j).JobOutput(ctx, ws, job, output)
	return d, err
}

// dataErr turns a datastore refusal into a 400 naming the field.
func dataErr(err error) error {
	var ie *datastore.InvalidError
	if errors.As(err, &ie) {
		return badRequest(ie.Field, "%s", ie.Msg)
	}
	return err
}

// dataService returns the datastore service, or a 404 on a server whose
// store keeps no datastores.
func (s *server) dataService() (*datastore.Service, error) {
	if s.data == nil {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", msg: "this server keeps no datastores"}
	}
	return s.data, nil
}

func datastoreView(ds datastore.Datastore) client.Datastore {
	v := client.Datastore{
		Name: ds.Name, Type: ds.Type, Description: ds.Description, Tags: ds.Tags, Path: ds.Path,
		Endpoint: ds.Endpoint, Bucket: ds.Bucket, Prefix: ds.Prefix, Region: ds.Region, IsDefault: ds.Default,
		CreationContext: client.CreationContext{CreatedAt: ds.CreatedAt},
		ID:              "azureml://datastores/" + ds.Name,
	}
	if ds.AccessKeyIDEnv != "" || ds.SecretAccessKeyEnv != "" {
		v.Credentials = &client.DatastoreCredentials{AccessKeyIDEnv: ds.AccessKeyIDEnv, SecretAccessKeyEnv: ds.SecretAccessKeyEnv}
	}
	return v
}

func (s *server) createDatastore(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.dataService()
	if err != nil {
		return nil, err
	}
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	var in spec.Datastore
	if err := decode(r, &in); err != nil {
		return nil, err
	}
	ds := datastore.Datastore{Workspace: r.PathValue("ws"), Name: in.Name, Type: in.Type, Description: in.Description,
		Tags: in.Tags, Path: in.Path, Endpoint: in.Endpoint, Bucket: in.Bucket, Prefix: in.Prefix, Region: in.Region}
	if c := in.Credentials; c != nil {
		ds.AccessKeyIDEnv, ds.SecretAccessKeyEnv = c.AccessKeyIDEnv, c.SecretAccessKeyEnv
	}
	out, err := svc.Put(r.Context(), ds)
	if err != nil {
		return nil, dataErr(err)
	}
	return created{datastoreView(out)}, nil
}

func (s *server) listDatastores(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.dataService()
	if err != nil {
		return nil, err
	}
	return listIn(s, r, svc.List, datastoreView)
}

func (s *server) getDatastore(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.dataService()
	if err != nil {
		return nil, err
	}
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	ds, err := svc.Get(r.Context(), r.PathValue("ws"), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "name",
			msg: fmt.Sprintf("datastore %q not found in workspace %s; create it with: ciel datastore create --file <datastore.yml>", r.PathValue("name"), r.PathValue("ws"))}
	}
	if err != nil {
		return nil, err
	}
	return datastoreView(ds), nil
}

func (s *server) deleteDatastore(_ http.ResponseWriter, r *http.Request) (any, error) {
	svc, err := s.dataService()
	if err != nil {
		return nil, err
	}
	if _, err := s.workspace(r); err != nil {
		return nil, err
	}
	if err := svc.Delete(r.Context(), r.PathValue("ws"), r.PathValue("name")); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &httpError{status: http.StatusNotFound, code: "NotFound", target: "name",
				msg: fmt.Sprintf("datastore %q not found in workspace %s", r.PathValue("name"), r.PathValue("ws"))}
		}
		return nil, dataErr(err)
	}
	return map[string]string{"status": "deleted"}, nil
}
