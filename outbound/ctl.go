package outbound

import (
	"container/heap"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Control requests from "immp queue" to a running server are files in
// queue/ctl: "flush" (try every queued message now) and "delete.ID". The
// runner polls the directory (ctlPoll), carries a request out and
// removes its file; the command waits for that. The running server holds
// an exclusive flock on queue/lock, which tells the command whether a
// runner exists at all: without one it changes the files itself.

// ctlPoll is how often the runner looks for control requests.
const ctlPoll = 500 * time.Millisecond

// lockQueue takes the queue's lock without waiting; ok false means a
// running server holds it.
func lockQueue(dir string) (f *os.File, ok bool, err error) {
	if err := ensureDirs(dir); err != nil {
		return nil, false, err
	}
	f, err = os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}

// Flush asks for every queued message to be tried now. It reports
// whether a running server took the request; without one the retry
// times are cleared so the next start tries everything at once.
func Flush(dir string, wait time.Duration) (running bool, err error) {
	return control(dir, "flush", "", wait)
}

// Delete removes a queued message without bouncing it.
func Delete(dir, id string, wait time.Duration) (running bool, err error) {
	if !ValidID(id) {
		return false, ErrNotFound
	}
	if _, err := os.Stat(filepath.Join(dir, msgDir, id)); err != nil {
		return false, ErrNotFound
	}
	return control(dir, "delete", id, wait)
}

func control(dir, op, id string, wait time.Duration) (bool, error) {
	lock, free, err := lockQueue(dir)
	if err != nil {
		return false, err
	}
	if free {
		defer lock.Close()
		switch op {
		case "delete":
			return false, removeMessage(dir, id)
		default:
			ents, err := List(dir)
			if err != nil {
				return false, err
			}
			for _, e := range ents {
				for i := range e.Rcpts {
					e.Rcpts[i].Next = time.Time{}
				}
				if err := writeState(dir, e.ID, e.Rcpts); err != nil {
					return false, err
				}
			}
			return false, nil
		}
	}
	name := op
	if id != "" {
		name += "." + id
	}
	path := filepath.Join(dir, ctlDir, name)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return true, err
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return true, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true, fmt.Errorf("the running server did not take the %s request within %v (it stays in %s)", op, wait, path)
}

// ctlRequest is one request found in queue/ctl.
type ctlRequest struct {
	op, id, path string
}

// readControl lists pending requests.
func readControl(dir string) []ctlRequest {
	ents, err := os.ReadDir(filepath.Join(dir, ctlDir))
	if err != nil {
		return nil
	}
	var out []ctlRequest
	for _, e := range ents {
		op, id, _ := strings.Cut(e.Name(), ".")
		path := filepath.Join(dir, ctlDir, e.Name())
		switch {
		case op == "flush" && id == "":
		case op == "delete" && ValidID(id):
		default:
			os.Remove(path) // not ours: nothing asks for it
			continue
		}
		out = append(out, ctlRequest{op: op, id: id, path: path})
	}
	return out
}

// control carries out the requests of "immp queue".
func (q *Queue) control() {
	for _, r := range readControl(q.opts.Dir) {
		switch r.op {
		case "flush":
			q.flush()
			q.log.Info("queue flush requested")
		case "delete":
			q.remove(r.id)
		}
		os.Remove(r.path)
	}
}

// Flush makes every waiting item due now.
func (q *Queue) flush() {
	q.mu.Lock()
	now := time.Now()
	for q.waiting.Len() > 0 {
		it := heap.Pop(&q.waiting).(*item)
		it.next = now
		if !it.m.deleted {
			q.place(it, now)
		}
	}
	q.mu.Unlock()
	q.signal()
}

// remove deletes a message without a bounce ("immp queue delete"). An
// attempt in flight finishes, and its outcome is dropped.
func (q *Queue) remove(id string) {
	q.mu.Lock()
	m := q.msgs[id]
	if m != nil {
		m.deleted = true
		delete(q.msgs, id)
	}
	q.mu.Unlock()
	if err := removeMessage(q.opts.Dir, id); err != nil {
		q.log.Warn("queue delete", "queue_id", id, "err", err)
		return
	}
	q.log.Info("removed from the queue by request", "queue_id", id)
}
