package maildir

import (
	"strings"
	"sync"
)

// Change events (issue 2, item 6). Every change made through the Store
// (delivery, append, flags, expunge, copy/move, folder rename/delete) and
// every change found on disk when a folder is synced (another program
// wrote the Maildir) is published to the folder's subscribers in the
// order the changes were made.
//
// Publishing never blocks the writer on a subscriber: each subscriber has
// an unbounded queue drained by its own goroutine, which calls fn for one
// event at a time, so fn is never called concurrently for one subscriber
// and sees events in order. A slow fn only grows its own queue.

type eventHub struct {
	mu   sync.Mutex
	subs map[boxKey][]*subscriber
}

type subscriber struct {
	fn      func(Event)
	mu      sync.Mutex
	queue   []Event
	running bool
	closed  bool
}

func newEventHub() *eventHub { return &eventHub{subs: make(map[boxKey][]*subscriber)} }

// Subscribe calls fn for every later change to the folder (absolute IMAP
// name) of acct. A rename moves the subscription along with the folder
// (after an EventFolderRenamed); after EventFolderDeleted no more events
// come. cancel stops delivery; events queued but not yet handed to fn are
// dropped.
func (s *Store) Subscribe(acct Account, folder string, fn func(Event)) (cancel func()) {
	name, err := CanonicalFolderName(folder)
	if err != nil {
		name = folder
	}
	key := boxKey{acct.ID, name}
	sub := &subscriber{fn: fn}
	h := s.events
	h.mu.Lock()
	h.subs[key] = append(h.subs[key], sub)
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.mu.Lock()
			sub.closed = true
			sub.queue = nil
			sub.mu.Unlock()
			h.mu.Lock()
			defer h.mu.Unlock()
			for k, list := range h.subs {
				for i, x := range list {
					if x == sub {
						list = append(list[:i:i], list[i+1:]...)
						if len(list) == 0 {
							delete(h.subs, k)
						} else {
							h.subs[k] = list
						}
						return
					}
				}
			}
		})
	}
}

func (h *eventHub) publish(key boxKey, evs ...Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, sub := range h.subs[key] {
		sub.enqueue(evs)
	}
}

// rename moves the subscriptions of a folder and of its children.
func (h *eventHub) rename(acct int64, oldName, newName string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, list := range h.subs {
		if k.acct != acct {
			continue
		}
		var nn string
		switch {
		case k.name == oldName:
			nn = newName
		case strings.HasPrefix(k.name, oldName+Separator):
			nn = newName + k.name[len(oldName):]
		default:
			continue
		}
		delete(h.subs, k)
		nk := boxKey{acct, nn}
		h.subs[nk] = append(h.subs[nk], list...)
	}
}

func (sub *subscriber) enqueue(evs []Event) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.closed {
		return
	}
	sub.queue = append(sub.queue, evs...)
	if !sub.running {
		sub.running = true
		go sub.drain()
	}
}

func (sub *subscriber) drain() {
	for {
		sub.mu.Lock()
		if len(sub.queue) == 0 || sub.closed {
			sub.running = false
			sub.mu.Unlock()
			return
		}
		ev := sub.queue[0]
		sub.queue = sub.queue[1:]
		sub.mu.Unlock()
		sub.fn(ev)
	}
}
