package guard

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ErrBodyTooSlow is the error a body read returns when the client sends
// slower than MinBodyRate or stalls; handlers answer it with 408.
var ErrBodyTooSlow = errors.New("request body arrives too slowly")

// bodyReader bounds a request body: a non-upload body to MaxJSONBytes and
// JSONBodyTimeout, every body to MinBodyRate after BodyRateGrace, and every
// read to StallTimeout.
func (g *Guard) bodyReader(w http.ResponseWriter, r *http.Request, upload bool) io.ReadCloser {
	br := &boundedBody{rc: http.NewResponseController(w), start: time.Now()}
	// Until the handler reads, a body unread (an early answer) is bounded.
	_ = br.rc.SetReadDeadline(br.start.Add(StallTimeout))
	br.body = r.Body
	if !upload {
		br.body = http.MaxBytesReader(w, r.Body, g.cfg.MaxJSONBytes)
		br.deadline = br.start.Add(g.cfg.JSONBodyTimeout)
	}
	return br
}

// boundedBody is a request body read under a deadline per read, lifted
// after each so that a handler working longer than it is not cut off by
// the server's background read of the next request.
type boundedBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	deadline time.Time // zero for uploads
	n        int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	now := time.Now()
	if !b.deadline.IsZero() && now.After(b.deadline) {
		return 0, b.cut(ErrBodyTooSlow)
	}
	if el := now.Sub(b.start); el > BodyRateGrace && float64(b.n) < MinBodyRate*el.Seconds() {
		return 0, b.cut(fmt.Errorf("%w: %d bytes in %s", ErrBodyTooSlow, b.n, el.Round(time.Second)))
	}
	d := now.Add(StallTimeout)
	if !b.deadline.IsZero() && b.deadline.Before(d) {
		d = b.deadline
	}
	_ = b.rc.SetReadDeadline(d)
	n, err := b.body.Read(p)
	if err == io.EOF {
		// Lifted once the body is in: the server's background read of
		// the next request must not cancel a handler that works longer.
		_ = b.rc.SetReadDeadline(time.Time{})
	} else {
		// Should the handler answer without reading the rest, the server
		// reads (up to 256 KiB of) it at the client's pace with this
		// deadline, not forever.
		_ = b.rc.SetReadDeadline(time.Now().Add(StallTimeout))
	}
	b.n += int64(n)
	var tooBig *http.MaxBytesError
	switch {
	case err != nil && isTimeout(err):
		err = b.cut(fmt.Errorf("%w: nothing received for %s", ErrBodyTooSlow, StallTimeout))
	case errors.As(err, &tooBig):
		err = b.cut(err)
	}
	return n, err
}

// cut ends the body for good: the server would otherwise read what is left
// of it (up to 256 KiB, at the client's pace) before closing the
// connection, so reads from now on fail at once.
func (b *boundedBody) cut(err error) error {
	_ = b.rc.SetReadDeadline(time.Now())
	return err
}

func (b *boundedBody) Close() error { return b.body.Close() }

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// BodyError returns the refusal for an error from reading a request body:
// 413 when it was too large, 408 when too slow, nil otherwise.
func BodyError(err error) *Error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &Error{http.StatusRequestEntityTooLarge, tooLarge(tooBig.Limit)}
	case errors.Is(err, ErrBodyTooSlow):
		return &Error{http.StatusRequestTimeout, err.Error()}
	}
	return nil
}

func tooLarge(limit int64) string {
	return fmt.Sprintf("request body is larger than the %d bytes this API takes", limit)
}
