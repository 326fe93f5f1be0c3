package bench_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHookdDiesWithBench kills a running hookd bench with SIGKILL, which it
// cannot clean up after, and checks that the hookd it started goes too.
func TestHookdDiesWithBench(t *testing.T) {
	t.Parallel()
	bin := mustBuildHookd(t)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "bench", "--scenario", "throughput", "--out", filepath.Join(tmp, "out"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp) // its database goes with the test
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	benchPID := cmd.Process.Pid
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	var child int
	for deadline := time.Now().Add(60 * time.Second); child == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the bench started no hookd within 60 s")
		}
		child = childOf(t, benchPID)
	}
	defer func() {
		if alive(child) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
	}()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	for deadline := time.Now().Add(30 * time.Second); alive(child); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hookd (pid %d) still runs 30 s after its bench was killed", child)
		}
	}
}

// childOf returns the PID of a hookd serve process whose parent is pid, or
// 0.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, _ := stat(p); ppid != pid {
			continue
		}
		if args, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline"); strings.Contains(string(args), "\x00serve\x00") {
			return p
		}
	}
	return 0
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	_, state := stat(pid)
	return state != "" && state != "Z"
}

// stat returns pid's parent and state from /proc/PID/stat, or 0 and "".
func stat(pid int) (ppid int, state string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	// The command name, in parentheses, may hold spaces: fields follow it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return 0, ""
	}
	ppid, _ = strconv.Atoi(fields[1])
	return ppid, fields[0]
}
