// Command relay is the serving benchmark's bare relay: the least a server
// built the way ciel is (a Go HTTP front end, Python worker processes behind
// a local socket, score.py's run() once per request) must spend. It reads a
// request, hands its body to a free worker over a socket pair, waits for the
// answer and writes it back; nothing else: no auth, routing, queue limits,
// timeouts, metrics, logs or restarts.
//
// Timing it next to ciel and the peers bounds the ratio that design can
// reach: what the relay costs per request beyond the model's own floor is the
// price of the HTTP exchange and the process boundary alone.
//
// Usage:
//
//	relay -python PYTHON -worker relay_worker.py -workers N [-addr 127.0.0.1:0]
//
// The workers run relay_worker.py (score.py from AML_APP_ROOT, the model from
// AZUREML_MODEL_DIR). It prints the URL it listens on as its first line of
// stdout once every worker is ready.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// inFlight is how many requests a worker holds at once: two, as ciel's
// benchmark deployment allows, so a worker finds its next request waiting
// when it finishes one instead of idling while the relay turns around.
const inFlight = 2

// worker is one Python process and its end of the socket pair. Frames both
// ways are a big-endian u32 length and that many bytes; answers come back in
// the order of the requests.
type worker struct {
	conn    net.Conn
	r       *bufio.Reader
	mu      sync.Mutex       // orders writes with their places in waiting
	waiting chan chan []byte // the callers of sent requests, oldest first
}

func spawn(python, script string) (*worker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket pair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "relay"), os.NewFile(uintptr(fds[1]), "relay-child")
	defer child.Close()
	conn, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		return nil, fmt.Errorf("socket pair: %w", err)
	}
	cmd := exec.Command(python, script)
	cmd.ExtraFiles = []*os.File{child}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", python, err)
	}
	w := &worker{conn: conn, r: bufio.NewReaderSize(conn, 64<<10), waiting: make(chan chan []byte, inFlight)}
	if _, err := w.read(); err != nil { // the empty READY frame
		return nil, fmt.Errorf("worker %d did not start: %w", cmd.Process.Pid, err)
	}
	go w.deliver()
	return w, nil
}

// deliver hands each answer to the caller that waits longest; it ends the
// relay when the worker does, as a benchmark should not go on without it.
func (w *worker) deliver() {
	for {
		b, err := w.read()
		if err != nil {
			log.Fatalf("worker: %v", err)
		}
		(<-w.waiting) <- b
	}
}

func (w *worker) read() ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(w.r, n[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(n[:]))
	_, err := io.ReadFull(w.r, b)
	return b, err
}

// call sends one body and returns the worker's answer.
func (w *worker) call(body []byte) []byte {
	msg := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	ch := make(chan []byte, 1)
	w.mu.Lock()
	w.waiting <- ch
	_, err := w.conn.Write(append(msg, body...))
	w.mu.Unlock()
	if err != nil {
		log.Fatalf("worker: %v", err)
	}
	return <-ch
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	python := flag.String("python", "python3", "the workers' Python")
	script := flag.String("worker", "relay_worker.py", "the workers' script")
	n := flag.Int("workers", 2, "worker processes")
	flag.Parse()
	// A worker is in free once per request it may still take.
	free := make(chan *worker, *n*inFlight)
	for range *n {
		w, err := spawn(*python, *script)
		if err != nil {
			log.Fatal(err)
		}
		for range inFlight {
			free <- w
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w := <-free
		out := w.call(body)
		free <- w
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write(out)
	})))
}
