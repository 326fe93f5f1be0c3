//go:build !unix

package sqlite

import "os"

// lockFile does nothing where flock is missing: running two delivering
// processes on one file is then the operator's mistake to avoid.
func lockFile(*os.File) error { return nil }
