//go:build cgo && !purego && !linux

package sqlite

// walbufVFS is empty where the log buffer of walbuf_cgo.go is not built:
// it is measured and tested on Linux only. SQLite's default VFS is used.
const walbufVFS = ""

func registerWALBuf() error { return nil }
