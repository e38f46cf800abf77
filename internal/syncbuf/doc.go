// Package syncbuf provides Buffer, a text buffer that many goroutines may
// write to while another reads it: the sink tests use for a server's log
// or a child process's output.
//
// Invariant: String returns every octet of every Write that returned
// before it was called, in order; the zero Buffer is empty and ready.
package syncbuf
