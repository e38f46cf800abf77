// Package benchutil holds what the benchmark tools under bench/ share:
// loopback ports, waiting for an SMTP server, and the median they quote
// (these machines are noisy: medians, not single times).
package benchutil

import (
	"bufio"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"
)

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// WaitSMTP waits until addr answers with a 220 greeting.
func WaitSMTP(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("QUIT\r\n"))
			c.Close()
			if err == nil && strings.HasPrefix(line, "220") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Median of v (0 for none), v left as it was.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
