//go:build unix

package deliver

import "syscall"

// send writes the request b, and returns once the response has begun to
// arrive (or the deadline passed, or the connection broke: the read that
// follows reports those).
//
// A plain write then read costs three system calls, as the response is
// hardly ever there when the read first looks: the write, a read that
// finds nothing, and the read once the poller says it is readable. send
// writes inside the raw read's callback instead, after the poller's
// readiness for the connection was reset and before the wait: a response
// that comes after the write is seen by the wait, and the read that
// follows finds it at once. A write the socket does not take whole, or
// that fails, goes on through the connection's own Write, which waits
// and reports the error as any write would.
func (conn *h1Conn) send(b []byte) error {
	if conn.raw == nil {
		_, err := conn.nc.Write(b)
		return err
	}
	rest, wrote := b, false
	_ = conn.raw.Read(func(fd uintptr) bool {
		if wrote {
			return true // readable, or the wait failed
		}
		wrote = true
		n, err := syscall.Write(int(fd), b)
		if err != nil || n < len(b) {
			rest = b[max(n, 0):]
			return true
		}
		rest = nil
		return false // wait until readable
	})
	if len(rest) > 0 {
		_, err := conn.nc.Write(rest)
		return err
	}
	return nil
}
