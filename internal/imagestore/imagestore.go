// Package imagestore keeps the container images ciel builds in its
// content-addressed blob store, whose sha256 digests are OCI's, and serves
// them read-only over the OCI distribution API (the part a pull uses:
// GET /v2/, manifests and blobs), so a cluster's nodes pull them from
// ciel's server with no registry of their own. Every replica of a server
// sharing one blob store (S3) serves every image.
//
// An image's repository names its manifest's digest,
// <host>/ciel/env/<manifest hex>:<tag>, so serving needs no tag index: a
// blob is served only as part of the manifest its request names, and a
// pull credential reads images, never the other blobs of the store (code,
// data, outputs). It is not a registry: nothing is pushed over HTTP,
// listed or deleted.
package imagestore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/ciel-mlops/ciel/internal/blob"
)

// Repository is the repository prefix of ciel's images; the manifest's
// hex digest follows it.
const Repository = "ciel/env"

// maxManifestBytes bounds a manifest read from the store.
const maxManifestBytes = 4 << 20

var (
	hexDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// tagRE is the distribution spec's tag grammar.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
)

// Ref is the reference of the image whose manifest has digest manifest,
// served at host (host:port, as the cluster's nodes reach the server),
// tagged tag for people reading it; any tag names the same image.
func Ref(host string, manifest v1.Hash, tag string) string {
	return host + "/" + Repository + "/" + manifest.Hex + ":" + tag
}

// Push stores img's layers, configuration and manifest in b, skipping the
// blobs already there, and returns the manifest's digest.
func Push(ctx context.Context, b blob.Store, img v1.Image) (v1.Hash, error) {
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("push image: %w", err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Hash{}, fmt.Errorf("push image: %w", err)
		}
		if err := putOnce(ctx, b, d, l.Compressed); err != nil {
			return v1.Hash{}, fmt.Errorf("push image: layer %s: %w", d, err)
		}
	}
	for _, part := range []func() ([]byte, error){img.RawConfigFile, img.RawManifest} {
		raw, err := part()
		if err != nil {
			return v1.Hash{}, fmt.Errorf("push image: %w", err)
		}
		d := v1.Hash{Algorithm: "sha256", Hex: sha256Hex(raw)}
		open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
		if err := putOnce(ctx, b, d, open); err != nil {
			return v1.Hash{}, fmt.Errorf("push image: %w", err)
		}
	}
	return img.Digest()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// putOnce stores the content open gives unless a blob of digest d is
// there, and checks the store computed the same digest.
func putOnce(ctx context.Context, b blob.Store, d v1.Hash, open func() (io.ReadCloser, error)) error {
	if ok, err := b.Has(ctx, d.String()); err != nil {
		return err
	} else if ok {
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	got, _, err := b.Put(ctx, rc)
	if err != nil {
		return err
	}
	if got != d.String() {
		return fmt.Errorf("stored as %s, not %s", got, d)
	}
	return nil
}

// PullToken is the credential that reads images and nothing else, derived
// from the server's token so that every replica knows it without storing
// it, and a cluster holding it cannot use it as the server's token.
func PullToken(serverToken string) string {
	if serverToken == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(serverToken))
	m.Write([]byte("ciel image pull v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// errUnknown is a manifest or blob the store does not have or that the
// request's image does not hold.
var errUnknown = errors.New("unknown")

// manifest reads and parses the manifest of digest hex from b.
func manifest(ctx context.Context, b blob.Store, hexd string) ([]byte, *v1.Manifest, error) {
	rc, err := b.Open(ctx, "sha256:"+hexd)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil, errUnknown
	}
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > maxManifestBytes {
		return nil, nil, errUnknown
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil || m.SchemaVersion != 2 || m.Config.Digest.Algorithm != "sha256" {
		return nil, nil, errUnknown // a blob, but not an image's manifest
	}
	return raw, m, nil
}
