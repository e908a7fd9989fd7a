// Command bare is bench/overhead's yardstick: the least a step runner that
// keeps what ciel keeps can cost on this machine. It runs n trivial steps
// (`true`) at a concurrency, and for each does only the essential work:
//
//   - exec: start the program directly and wait for it (what any runner
//     pays; no shell);
//   - full: the same, plus what makes a step a step: its own directory
//     with a working directory and ./outputs, its log file (the program's
//     stdout and stderr), and its start and end recorded durably in SQLite
//     (the same driver and pragmas as ciel: WAL, synchronous FULL), the
//     records of concurrent steps sharing one commit. As in ciel, a slot
//     is given back once its program exits, and the end's record is made
//     durable while the next step starts.
//
// Two more modes split "full" for looking into where its time goes: dirs
// (directories and log, no records) and records (records, no files).
//
// Nothing else: no plan, no reuse key, no MLflow run, no API, no stream. The
// ratio of ciel to "full" is what ciel's design adds; "full" to the sh floor
// is what the disk and the records cost here.
//
// Usage:
//
//	bare -mode exec|full|dirs|records -n 500 -c 2 -dir DIR
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite"
)

func main() {
	mode := flag.String("mode", "full", "exec, full, dirs or records")
	n := flag.Int("n", 500, "steps")
	c := flag.Int("c", 2, "concurrency")
	dir := flag.String("dir", "", "work directory (every mode but exec)")
	flag.Parse()
	prog, err := exec.LookPath("true")
	if err != nil {
		fail(err)
	}
	var files, records bool // what a mode keeps besides running the program
	switch *mode {
	case "exec":
	case "dirs":
		files = true
	case "records":
		records = true
	case "full":
		files, records = true, true
	default:
		fail(fmt.Errorf("-mode %q: want exec, full, dirs or records", *mode))
	}
	if *dir == "" && *mode != "exec" {
		fail(fmt.Errorf("-dir is required in %s mode", *mode))
	}
	var rec *recorder // nil: no records
	if records {
		if rec, err = openRecorder(filepath.Join(*dir, "bare.db")); err != nil {
			fail(err)
		}
		defer rec.close()
	}
	start := time.Now()
	sem := make(chan struct{}, *c)
	var wg sync.WaitGroup
	errs := make(chan error, *n)
	for i := range *n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// As in ciel, the slot is given back once the program has
			// exited, and the end is recorded while the next one starts.
			var once sync.Once
			release := func() { once.Do(func() { <-sem }) }
			name := fmt.Sprint(i)
			if files {
				errs <- step(rec, filepath.Join(*dir, "steps", name), name, prog, release)
			} else {
				errs <- run(rec, name, exec.Command(prog), release)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			fail(err)
		}
	}
	fmt.Printf("%d\n", time.Since(start).Nanoseconds())
}

// step runs one step the way the full mode does (rec nil: without records),
// calling release once the program has exited.
func step(rec *recorder, dir, name, prog string, release func()) error {
	defer release()
	wd := filepath.Join(dir, "wd")
	if err := os.MkdirAll(filepath.Join(wd, "outputs"), 0o700); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(dir, "std_log.txt"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(prog)
	cmd.Dir, cmd.Stdout, cmd.Stderr = wd, log, log
	return run(rec, name, cmd, release)
}

// run records the start (not waiting: the end's record follows it in the
// same writer), runs cmd, releases the slot and waits for the end's record
// to be durable; with rec nil it only runs cmd and releases the slot.
func run(rec *recorder, name string, cmd *exec.Cmd, release func()) error {
	if rec != nil {
		rec.send(name, "Running")
	}
	err := cmd.Run()
	release()
	if err != nil || rec == nil {
		return err
	}
	return rec.put(name, "Completed")
}

// recorder writes step states through one connection, committing what
// concurrent steps hand it together and answering each once it is durable.
type recorder struct {
	db   *sql.DB
	reqs chan request
	done chan struct{}
}

type request struct {
	name, status string
	ack          chan error
}

func openRecorder(path string) (*recorder, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS steps (name TEXT PRIMARY KEY, status TEXT NOT NULL, at INTEGER NOT NULL) STRICT, WITHOUT ROWID`); err != nil {
		return nil, err
	}
	r := &recorder{db: db, reqs: make(chan request, 64), done: make(chan struct{})}
	go r.loop()
	return r, nil
}

// put records a state and waits for it to be durable.
func (r *recorder) put(name, status string) error {
	return <-r.send(name, status)
}

// send hands a state to the writer; the channel answers once it is durable.
func (r *recorder) send(name, status string) chan error {
	ack := make(chan error, 1)
	r.reqs <- request{name, status, ack}
	return ack
}

func (r *recorder) loop() {
	defer close(r.done)
	for req := range r.reqs {
		batch := []request{req}
		for more := true; more; {
			select {
			case q, ok := <-r.reqs:
				if !ok {
					more = false
					break
				}
				batch = append(batch, q)
			default:
				more = false
			}
		}
		err := r.commit(batch)
		for _, q := range batch {
			q.ack <- err
		}
	}
}

func (r *recorder) commit(batch []request) error {
	tx, err := r.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range batch {
		if _, err := tx.Exec(`INSERT INTO steps (name, status, at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET status = excluded.status, at = excluded.at`,
			q.name, q.status, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (r *recorder) close() {
	close(r.reqs)
	<-r.done
	r.db.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bare:", err)
	os.Exit(1)
}
