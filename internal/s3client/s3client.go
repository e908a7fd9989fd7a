// Package s3client connects to an S3-compatible endpoint the one way ciel
// does it everywhere: the S3 datastores, Data Factory's S3 file stores and
// the blob store on a bucket each build their minio client here, from an
// endpoint URL, a region and keys, so the endpoint's rules and the keys'
// handling are written once. Location is the bucket and keys that the blob
// store and the MLflow artifacts on S3 are both configured with.
package s3client

import (
	"fmt"
	"net/url"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// New returns a client of endpoint (http(s)://host[:port]) in region
// (may be ""), signing with creds; it makes no request.
func New(endpoint, region string, creds *credentials.Credentials) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q: expected http(s)://host[:port]", endpoint)
	}
	cl, err := minio.New(u.Host, &minio.Options{Creds: creds, Secure: u.Scheme == "https", Region: region})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", u.Host, err)
	}
	return cl, nil
}

// Location is where a bucket, or a folder of one, is and the keys that
// reach it: what the stores ciel keeps on S3 (the blob store, blob/s3, and
// the MLflow artifacts, artifacts/s3) are both configured with, so that a
// server opens the two from one blob store URL.
type Location struct {
	// Endpoint is the store's URL: http(s)://host[:port].
	Endpoint string
	// PublicEndpoint is the store's URL as clients reach it, when not
	// Endpoint (a server reaching the store on a private address): the
	// presigned URLs of MLflow artifacts name it. "" is Endpoint.
	PublicEndpoint string
	// Bucket must exist; the stores' Open checks it.
	Bucket string
	// Prefix is the folder of the bucket the store lives in ("" its root).
	Prefix string
	// Region is the bucket's region; "" lets the client find it.
	Region string
	// AccessKeyID and SecretAccessKey are the keys, both empty for
	// anonymous requests; SessionToken goes with temporary keys. They are
	// never printed.
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Credentials are l's keys as minio-go takes them.
func (l Location) Credentials() *credentials.Credentials {
	return credentials.NewStaticV4(l.AccessKeyID, l.SecretAccessKey, l.SessionToken)
}

// EnvCredentials returns the keys held by the environment variables idEnv
// and secretEnv, read with getenv now; anonymous access when both names are
// empty. A named variable that is unset is an error naming both, so the
// values never appear in one.
func EnvCredentials(getenv func(string) string, idEnv, secretEnv string) (*credentials.Credentials, error) {
	if idEnv == "" && secretEnv == "" {
		return credentials.NewStaticV4("", "", ""), nil
	}
	id, secret := getenv(idEnv), getenv(secretEnv)
	if id == "" || secret == "" {
		return nil, fmt.Errorf("credentials: environment variables %s and %s must both be set in the server's environment", idEnv, secretEnv)
	}
	return credentials.NewStaticV4(id, secret, ""), nil
}
