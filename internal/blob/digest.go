package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// DigestPrefix starts every digest: sha256 is the only algorithm.
const DigestPrefix = "sha256:"

// EmptyTreeDigest is the digest of the tree with no files. It is a constant
// so that ingesting an empty folder, which every step without outputs does,
// costs no hashing.
const EmptyTreeDigest = "sha256:d801aa1fb7ddcc330a5e3173372ea6af4a3d08ec58074478e85aa5603e926658"

// emptyManifest is the canonical manifest of the empty tree, whose digest is
// EmptyTreeDigest.
const emptyManifest = `{"entries":[]}`

// ErrInvalidDigest is returned for a string that is not a well-formed digest.
var ErrInvalidDigest = errors.New("invalid digest")

// ParseDigest checks that d is "sha256:" followed by exactly 64 lowercase hex
// digits and returns the hex part. Backends name files and keys after the
// hex part, so the check is strict: nothing else can reach a path.
func ParseDigest(d string) (string, error) {
	const hexLen = 2 * sha256.Size
	if len(d) != len(DigestPrefix)+hexLen || d[:len(DigestPrefix)] != DigestPrefix {
		return "", fmt.Errorf("%w: %q", ErrInvalidDigest, d)
	}
	h := d[len(DigestPrefix):]
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("%w: %q", ErrInvalidDigest, d)
		}
	}
	return h, nil
}

// Digest returns the digest of b, the one a Store gives it.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return DigestPrefix + hex.EncodeToString(sum[:])
}
