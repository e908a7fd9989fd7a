package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/ciel-mlops/ciel/internal/s3client"
)

// Environment variables ParseURL reads the keys from, as the AWS tools do.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
)

// DefaultEndpoint is the endpoint of a URL that names none: Amazon S3.
const DefaultEndpoint = "https://s3.amazonaws.com"

// DefaultPartSize is the part size of multipart uploads: a blob under it is
// one PUT, and one Put holds at most this much in memory. 16 MiB parts
// allow blobs up to 160 GB (S3's limit is 10,000 parts).
const DefaultPartSize = 16 << 20

// minPartSize is S3's smallest part but the last, maxPartSize its largest
// part and single PUT.
const (
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
)

// DefaultStaleAfter is how old a temporary object must be before Open
// removes it as the leftover of a crashed Put.
const DefaultStaleAfter = 24 * time.Hour

// Config locates the bucket and says how to reach it.
type Config struct {
	// Location is the bucket, the store's folder in it, and the keys
	// (never printed: String leaves them out). The MLflow artifacts on
	// S3 (artifacts/s3) live in the same one, under a folder of theirs.
	s3client.Location
	// PartSize is the multipart part size; 0 is DefaultPartSize, and
	// anything else must be within S3's 5 MiB to 5 GiB.
	PartSize int64
	// StaleAfter is DefaultStaleAfter when 0.
	StaleAfter time.Duration
	// Ephemeral marks a short-lived user of a store a server already
	// opened (a step's pod): Open then neither asks whether the bucket
	// exists nor sweeps stale temporary objects, three requests and a
	// listing that every step would otherwise pay twice; a missing bucket
	// still fails the first read or write.
	Ephemeral bool
}

// String describes the store without its keys, for logs and errors.
func (c Config) String() string {
	s := "s3://" + c.Bucket
	if c.Prefix != "" {
		s += "/" + c.Prefix
	}
	return s + " at " + c.Endpoint
}

// URL is the store's URL without the keys, which ParseURL reads back to
// cfg less its keys and tuning (PartSize, StaleAfter).
func (c Config) URL() string {
	u := url.URL{Scheme: "s3", Host: c.Bucket}
	q := url.Values{}
	q.Set("endpoint", c.Endpoint)
	if c.PublicEndpoint != "" {
		q.Set("public_endpoint", c.PublicEndpoint)
	}
	if c.Prefix != "" {
		q.Set("prefix", c.Prefix)
	}
	if c.Region != "" {
		q.Set("region", c.Region)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ParseURL reads a blob store URL:
//
//	s3://BUCKET[/PREFIX][?endpoint=http(s)://host:port][&prefix=PREFIX][&region=REGION]
//	    [&public_endpoint=http(s)://host:port]
//
// with the keys from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and optionally AWS_SESSION_TOKEN; neither key set
// means anonymous requests). Keys in the URL are refused: a command line
// is visible to every user of the machine. getenv is os.Getenv in use.
func ParseURL(raw string, getenv func(string) string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the whole URL; say only what is wrong.
		return Config{}, errors.New("blob store URL: not a URL; expected s3://bucket?endpoint=http(s)://host:port")
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("blob store URL: scheme %q: expected s3://bucket?endpoint=http(s)://host:port", u.Scheme)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("blob store URL: keys in the URL are refused; set %s and %s in the server's environment",
			EnvAccessKeyID, EnvSecretAccessKey)
	}
	c := Config{Location: s3client.Location{Bucket: u.Host, Endpoint: DefaultEndpoint, Prefix: strings.Trim(u.Path, "/")}}
	q := u.Query()
	for k, v := range q {
		if len(v) != 1 {
			return Config{}, fmt.Errorf("blob store URL: %s given %d times", k, len(v))
		}
		switch k {
		case "endpoint":
			c.Endpoint = v[0]
		case "public_endpoint":
			c.PublicEndpoint = v[0]
		case "region":
			c.Region = v[0]
		case "prefix":
			if c.Prefix != "" {
				return Config{}, errors.New("blob store URL: a prefix both in the path and in ?prefix=")
			}
			c.Prefix = strings.Trim(v[0], "/")
		default:
			if isKeyParam(k) {
				return Config{}, fmt.Errorf("blob store URL: keys in the URL are refused; set %s and %s in the server's environment",
					EnvAccessKeyID, EnvSecretAccessKey)
			}
			return Config{}, fmt.Errorf("blob store URL: unknown parameter %q (expected endpoint, prefix, region or public_endpoint)", k)
		}
	}
	c.AccessKeyID, c.SecretAccessKey, c.SessionToken = getenv(EnvAccessKeyID), getenv(EnvSecretAccessKey), getenv(EnvSessionToken)
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return Config{}, fmt.Errorf("blob store credentials: set both %s and %s, or neither for anonymous requests",
			EnvAccessKeyID, EnvSecretAccessKey)
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("blob store URL: %w", err)
	}
	return c, nil
}

// isKeyParam reports whether a query parameter looks like it carries a key.
func isKeyParam(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"key", "secret", "token", "password", "signature", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// validate checks the endpoint, bucket, prefix and part size.
func (c Config) validate() error {
	if !isEndpoint(c.Endpoint) {
		return fmt.Errorf("endpoint %q: expected http(s)://host[:port]", redactURL(c.Endpoint))
	}
	if c.PublicEndpoint != "" && !isEndpoint(c.PublicEndpoint) {
		return fmt.Errorf("public_endpoint %q: expected http(s)://host[:port]", redactURL(c.PublicEndpoint))
	}
	if c.Bucket == "" {
		return errors.New("no bucket: expected s3://bucket")
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return fmt.Errorf("bucket %q: %w", c.Bucket, err)
	}
	if c.Prefix != "" {
		for _, seg := range strings.Split(c.Prefix, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
				return fmt.Errorf("prefix %q: expected folder names separated by /, with no . or .. segment", c.Prefix)
			}
		}
	}
	if c.PartSize != 0 && (c.PartSize < minPartSize || c.PartSize > maxPartSize) {
		return fmt.Errorf("part size %d: S3's parts are %d to %d bytes", c.PartSize, minPartSize, maxPartSize)
	}
	return nil
}

// isEndpoint reports whether s is http(s)://host[:port], nothing more.
func isEndpoint(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") && u.User == nil &&
		(u.Path == "" || u.Path == "/") && u.RawQuery == ""
}

// redactURL drops user info and query from a URL shown in an error.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
