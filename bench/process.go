package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a hookd server that the bench started as a child process.
type Process struct {
	// Bin is the hookd binary; DB its database; URL its API base URL.
	Bin, DB, URL string
	// KeyID and KeySecret are an API key of the bench tenant.
	KeyID, KeySecret string
	// LogPath is the file that receives the child's output.
	LogPath string
	// PprofAddr, when set, is where the child serves net/http/pprof.
	PprofAddr string

	cmd       *exec.Cmd
	exited    chan struct{}
	log       *os.File
	lastTicks int64 // CPU ticks read just before Stop
}

// LaunchOptions says how to start a hookd.
type LaunchOptions struct {
	// Bin is the hookd binary.
	Bin string
	// DB is a SQLite path or postgres:// URL.
	DB string
	// LogPath receives the child's stdout and stderr.
	LogPath string
	// Role is passed as --role when set.
	Role string
	// Pprof serves net/http/pprof on a free loopback port (through the
	// HOOKD_PPROF_ADDR variable that hookd bench's binary honours).
	Pprof bool
	// Args are extra serve flags.
	Args []string
}

// CreateKey runs `hookd keys create` for tenant on db and returns the key.
func CreateKey(ctx context.Context, bin, db, tenant string) (id, secret string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "keys", "create", "--tenant", tenant, "--json", "--db", db)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("hookd keys create: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var k struct {
		ID     string `json:"api_key_id"`
		Secret string `json:"api_key_secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &k); err != nil || k.ID == "" || k.Secret == "" {
		return "", "", fmt.Errorf("hookd keys create: unexpected output %.200q", stdout.String())
	}
	return k.ID, k.Secret, nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// StartHookd starts `hookd serve` on a free loopback port with the options
// given, waits until /healthz answers, and returns the running process.
// The caller must Stop it.
func StartHookd(ctx context.Context, o LaunchOptions) (*Process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--db", o.DB, "--addr", addr, "--allow-private", "--log-format", "json"}
	if o.Role != "" {
		args = append(args, "--role", o.Role)
	}
	args = append(args, o.Args...)
	logf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open hookd log: %w", err)
	}
	p := &Process{Bin: o.Bin, DB: o.DB, URL: "http://" + addr, LogPath: o.LogPath, log: logf, exited: make(chan struct{})}
	cmd := exec.Command(o.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	dieWithBench(cmd)
	if o.Pprof {
		if p.PprofAddr, err = freeAddr(); err != nil {
			logf.Close()
			return nil, err
		}
		cmd.Env = append(cmd.Env, PprofEnv+"="+p.PprofAddr)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start hookd: %w", err)
	}
	p.cmd = cmd
	go func() { _ = cmd.Wait(); close(p.exited) }()

	c := NewClient(p.URL, "", "", 1)
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-p.exited:
			logf.Close()
			return nil, fmt.Errorf("hookd exited at start: %s", lastLines(o.LogPath, 5))
		default:
		}
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		ok := c.Healthy(hctx)
		cancel()
		if ok {
			return p, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = p.Stop()
			return nil, fmt.Errorf("hookd at %s not healthy after 60s: %s", p.URL, lastLines(o.LogPath, 5))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PID returns the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// RSS returns the child's resident set size in bytes, from
// /proc/PID/status.
func (p *Process) RSS() (int64, error) {
	return readRSS(p.PID())
}

func readRSS(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read rss: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("read rss: no VmRSS line")
}

// CPUTicks returns the CPU time the child has used, in clock ticks
// (1/100 s), or what it had used just before Stop once it has exited.
func (p *Process) CPUTicks() int64 {
	if t, err := readCPUTicks(p.PID()); err == nil {
		return t
	}
	return p.lastTicks
}

// readCPUTicks returns utime+stime of process pid from /proc/PID/stat.
func readCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	// The command name, in parentheses, may hold spaces: skip past it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("read cpu time: malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("read cpu time: malformed stat")
	}
	// After the name: state(3) ... utime(14) stime(15), 1-based.
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("read cpu time: malformed stat")
	}
	return u + s, nil
}

// machineTicks returns the busy and total CPU ticks of the whole machine
// from /proc/stat.
func machineTicks() (busy, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, errors.New("read /proc/stat: no cpu line")
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read /proc/stat: %w", err)
		}
		if i == 7 {
			break // guest time is already counted in user
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, nil
}

// Stop asks the child to shut down gracefully (SIGTERM) and kills it if it
// has not exited within 30s. It signals only the child it started.
func (p *Process) Stop() error {
	defer p.log.Close()
	select {
	case <-p.exited:
		return nil
	default:
	}
	if t, err := readCPUTicks(p.PID()); err == nil {
		p.lastTicks = t
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	return fmt.Errorf("hookd (pid %d) did not stop within 30s; killed", p.PID())
}

// Engine returns what the server's banner says of its database, such as
// "sqlite: SQLite 3.54.1, C via cgo", or "" when it has not said.
func (p *Process) Engine() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Database"); ok {
			if i := strings.LastIndexByte(rest, '('); i >= 0 {
				return strings.TrimSuffix(strings.TrimSpace(rest[i+1:]), ")")
			}
		}
	}
	return ""
}

// lastLines returns up to n last lines of the file at path, for error
// messages.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
