// Command floor uploads a file straight to an S3 bucket with minio-go, in
// parts of the size the mlflow client uses, as many at a time as it sends:
// the physical floor of bench/artifacts, no tracking server in the way. It
// prints the seconds the upload took, and removes the object after.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint, http://host:port")
	bucket := flag.String("bucket", "", "bucket")
	file := flag.String("file", "", "file to upload")
	part := flag.Uint64("part", 10<<20, "part size in bytes")
	threads := flag.Uint("threads", 4, "parts uploaded at a time")
	flag.Parse()
	if err := run(*endpoint, *bucket, *file, *part, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(endpoint, bucket, file string, part uint64, threads uint) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return err
	}
	cl, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"),
		os.Getenv("AWS_SECRET_ACCESS_KEY"), ""), Secure: u.Scheme == "https", Region: "us-east-1"})
	if err != nil {
		return err
	}
	ctx := context.Background()
	key := "floor/" + time.Now().Format("150405.000000")
	start := time.Now()
	info, err := cl.FPutObject(ctx, bucket, key, file, minio.PutObjectOptions{PartSize: part, NumThreads: threads})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	if st, err := os.Stat(file); err != nil || st.Size() != info.Size {
		return fmt.Errorf("uploaded %d bytes of %s (%v)", info.Size, file, err)
	}
	fmt.Printf("%.3f\n", secs)
	return cl.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
}
