package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildHookd builds the hookd binary into a temporary directory.
func buildHookd(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "hookd")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// child is a hookd server running as a child process.
type child struct {
	cmd  *exec.Cmd
	base string
	log  *bytes.Buffer
}

func startChild(tb testing.TB, bin string, args ...string) *child {
	tb.Helper()
	addr := freeAddr(tb)
	c := &child{base: "http://" + addr, log: &bytes.Buffer{}}
	c.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = io.Discard, c.log
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("hookd did not become healthy: %v\n%s", err, c.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashRecovery publishes thousands of events to the real binary, kills
// it with SIGKILL while deliveries are in flight, restarts it on the same
// database, and checks that every event answered 202 reaches the receiver.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	t.Parallel()
	const total, batch = 4000, 100
	bin := buildHookd(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "hookd.db")

	var mu sync.Mutex
	received := map[int]int{} // seq -> times delivered
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct {
			Data struct {
				Seq int `json:"seq"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &env) != nil {
			w.WriteHeader(400)
			return
		}
		time.Sleep(time.Millisecond) // keep requests in flight when the kill lands
		mu.Lock()
		received[env.Data.Seq]++
		mu.Unlock()
		w.WriteHeader(200)
	}))
	defer rcv.Close()

	var keyOut bytes.Buffer
	if err := Run(t.Context(), []string{"keys", "create", "--tenant", "crash", "--json", "--db", db}, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	json.Unmarshal(keyOut.Bytes(), &key)

	args := []string{"--db", db, "--allow-private", "--lease", "11s", "--timeout", "1s", "--log-format", "json"}
	c := startChild(t, bin, args...)
	api := &client{tb: t, base: c.base, id: key["api_key_id"], secret: key["api_key_secret"]}
	api.json("POST", "/v1/webhooks", `{"name":"crash","events":["*"],"url":"`+rcv.URL+`"}`, http.StatusCreated, nil)

	pub := &publisher{keyID: key["api_key_id"], keySecret: key["api_key_secret"], batch: batch}
	publish := pub.publish
	var amu sync.Mutex // guards unanswered

	// Two publishers race the SIGKILL: it lands once a third of the events
	// are accepted, with publishes and deliveries in flight. A batch whose
	// answer never came is not counted as accepted (it may still arrive).
	batches := make(chan int, total/batch)
	for seq := 0; seq < total; seq += batch {
		batches <- seq
	}
	close(batches)
	var unanswered []int
	var pwg sync.WaitGroup
	killed := make(chan struct{})
	for range 2 {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for seq := range batches {
				select {
				case <-killed:
					amu.Lock()
					unanswered = append(unanswered, seq)
					amu.Unlock()
					continue
				default:
				}
				if err := publish(c.base, seq, seq+batch); err != nil {
					amu.Lock()
					unanswered = append(unanswered, seq)
					amu.Unlock()
				}
			}
		}()
	}
	for pub.count() < total/3 {
		time.Sleep(time.Millisecond)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	close(killed)
	c.cmd.Wait()
	pwg.Wait()
	mu.Lock()
	atKill := len(received)
	mu.Unlock()

	// Restart on the same database and publish what was not answered.
	c2 := startChild(t, bin, args...)
	for _, seq := range unanswered {
		if err := publish(c2.base, seq, seq+batch); err != nil {
			t.Fatalf("publish %d after restart: %v", seq, err)
		}
	}
	accepted := pub.snapshot()

	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for i := range accepted {
			if received[i] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never arrived\nhookd log:\n%s", missing, len(accepted), tail(c2.log.String(), 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	c2.cmd.Process.Signal(syscall.SIGTERM)
	c2.cmd.Wait()

	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range received {
		dups += n - 1
	}
	t.Logf("crash recovery: accepted %d events, delivered %d distinct (%d before the SIGKILL), %d duplicate deliveries (at-least-once re-sends of in-flight work)",
		len(accepted), len(received), atKill, dups)
	writeArtifact(t, "crash-recovery.txt", fmt.Sprintf("crash recovery (SIGKILL mid-load, restart on the same SQLite file): accepted=%d delivered=%d duplicates=%d delivered_before_kill=%d\n", len(accepted), len(received), dups, atKill))
}

// writeArtifact saves a test's summary into $HOOKD_ARTIFACTS, which CI
// prints after the tests, since go test shows nothing of a passing test.
func writeArtifact(tb testing.TB, name, text string) {
	dir := os.Getenv("HOOKD_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		tb.Errorf("write artifact: %v", err)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// publisher publishes numbered activities.added events in batches and
// remembers which were answered 202: those are the accepted ones.
type publisher struct {
	keyID, keySecret string
	batch            int

	mu       sync.Mutex
	accepted map[int]bool
}

// publish publishes events from..to-1 to the node at base.
func (p *publisher) publish(base string, from, to int) error {
	var events []string
	for i := from; i < to; i++ {
		events = append(events, fmt.Sprintf(`{"event":"activities.added","data":{"account":"a","user":"u","seq":%d}}`, i))
	}
	req, _ := http.NewRequest("POST", base+"/v1/events/batch", strings.NewReader(`{"events":[`+strings.Join(events, ",")+`]}`))
	req.SetBasicAuth(p.keyID, p.keySecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.accepted == nil {
		p.accepted = map[int]bool{}
	}
	for i := from; i < to; i++ {
		p.accepted[i] = true
	}
	return nil
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accepted)
}

func (p *publisher) snapshot() map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[int]bool, len(p.accepted))
	for k := range p.accepted {
		m[k] = true
	}
	return m
}
