// Package s3client connects to an S3-compatible endpoint the one way ciel
// does it everywhere: the S3 datastores, Data Factory's S3 file stores and
// the blob store on a bucket each build their minio client here, from an
// endpoint URL, a region and keys, so the endpoint's rules and the keys'
// handling are written once.
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
