//go:build !unix

package deliver

// send writes the request b.
func (conn *h1Conn) send(b []byte) error {
	_, err := conn.nc.Write(b)
	return err
}
