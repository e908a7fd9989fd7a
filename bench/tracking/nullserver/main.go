// Command nullserver is the do-nothing tracking server of bench/tracking: it
// answers MLflow's log-metric and log-batch calls at once with {} and passes
// every other request through to a real server (ciel). Timing the benchmark
// client against it leaves only the client's own cost plus HTTP, which bounds
// the ratio any server can reach with that client.
//
// It is a measuring tool, not a server to log to: what it answers is thrown
// away, so the runs it "logs" to stay empty.
//
// With -sync FILE it is the durable floor instead: each of those calls is
// answered only once its body is written to FILE and the file is
// fdatasync'ed, the writes of calls that arrive together sharing one sync
// (a group commit), as a server that acknowledges only durable writes must
// at least do. It parses nothing and indexes nothing, so no durable server
// can answer faster on the same disk.
//
// Usage:
//
//	nullserver -upstream http://127.0.0.1:PORT [-addr 127.0.0.1:0] [-sync FILE]
//
// It prints the URL it listens on as its first line of stdout. Paths keep
// the upstream's, so ciel's per-workspace prefix stays: the tracking URI is
// that URL plus /ws/NAME.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nullserver:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "base URL of the server that gets every other request, e.g. http://127.0.0.1:8080")
	syncFile := flag.String("sync", "", "make each discarded call durable in this file before answering it")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return fmt.Errorf("-upstream %q: want a base URL like http://127.0.0.1:8080", *upstream)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Println("http://" + ln.Addr().String())
	var log *syncLog
	if *syncFile != "" {
		if log, err = openSyncLog(*syncFile); err != nil {
			return err
		}
		go log.loop()
	}
	srv := &http.Server{Handler: newHandler(target, log), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// newHandler answers the discarded calls itself (after log makes them
// durable, when not nil) and proxies the rest to target.
func newHandler(target *url.URL, log *syncLog) http.Handler {
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !isDiscarded(r.URL.Path) {
			proxy.ServeHTTP(w, r)
			return
		}
		// Read the body as a real server must, so the client's send is
		// timed in full and the connection stays reusable.
		body, err := io.ReadAll(r.Body)
		if err == nil && log != nil {
			err = log.write(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	})
}

// isDiscarded reports whether path, under any prefix such as ciel's
// /ws/NAME, is one of the calls the benchmark times in its scenarios (a) and
// (b). Everything else (experiments, runs) must really exist, so it goes
// upstream.
func isDiscarded(path string) bool {
	_, call, ok := strings.Cut(path, "/api/2.0/mlflow/")
	return ok && (call == "runs/log-metric" || call == "runs/log-batch")
}
