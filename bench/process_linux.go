package bench

import (
	"os/exec"
	"syscall"
)

// dieWithBench has the kernel send the hookd that cmd starts SIGTERM when
// the bench dies without stopping it (killed, or a broken pipe on its
// output): hookd then shuts down as on Ctrl-C instead of serving on,
// unseen. The signal follows the thread that forked, and Go ends a thread
// only when a goroutine locked to it exits, which the bench never does: it
// comes when the bench process ends.
func dieWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
