package outbound

// dest is one destination's ready work and its connections.
type dest struct {
	ready  []*item
	active int
	// limit lowers MaxConnsPerDest while the destination refuses more
	// connections than it has (0: no lower limit); it grows back by one
	// with each message sent.
	limit int
}

// connFailed handles a failed connection while others to the same
// destination work: the destination is reachable but takes no more
// connections now. The item goes back to the front of the ready list
// for the working ones, the destination's limit drops below the number
// open, and true tells the worker to end.
func (q *Queue) connFailed(it *item) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.dests[it.dest]
	if d == nil || d.active <= 1 {
		return false
	}
	d.limit = d.active - 1
	d.ready = append([]*item{it}, d.ready...)
	return true
}

// connWorked lets a limited destination's concurrency grow again.
func (q *Queue) connWorked(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if d := q.dests[key]; d != nil && d.limit > 0 {
		d.limit++
		if d.limit >= q.opts.MaxConnsPerDest {
			d.limit = 0
		}
	}
}

func (d *dest) max(perDest int) int {
	if d.limit > 0 {
		return min(d.limit, perDest)
	}
	return perDest
}

// take pops the next ready item of a destination.
func (q *Queue) take(key string) *item {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.dests[key]
	for d != nil && len(d.ready) > 0 {
		it := d.ready[0]
		d.ready[0] = nil
		d.ready = d.ready[1:]
		if !it.m.deleted {
			return it
		}
	}
	return nil
}

// takeAll pops every ready item of a destination (a connection failure
// defers them all at once).
func (q *Queue) takeAll(key string) []*item {
	q.mu.Lock()
	defer q.mu.Unlock()
	d := q.dests[key]
	if d == nil {
		return nil
	}
	var out []*item
	for _, it := range d.ready {
		if !it.m.deleted {
			out = append(out, it)
		}
	}
	d.ready = nil
	return out
}

func (q *Queue) workerDone(key string) {
	q.mu.Lock()
	if d := q.dests[key]; d != nil {
		d.active--
	}
	q.active--
	q.mu.Unlock()
	q.signal()
}
