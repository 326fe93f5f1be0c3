package bench

import (
	"os/exec"
	"syscall"
)

// dieWithBench has the kernel send the hookd that cmd starts SIGTERM when
// the bench dies without stopping it (killed, or a broken pipe on its
// output): hookd then shuts down as on Ctrl-C instead of serving on,
// unseen. Go keeps its threads, so the thread that forks outlives the
// child unless the bench process itself ends.
func dieWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
