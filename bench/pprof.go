package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// PprofEnv names the environment variable that makes a hookd binary serve
// net/http/pprof on the loopback address it holds. hookd bench sets it on
// the hookd it starts when asked to profile.
const PprofEnv = "HOOKD_PPROF_ADDR"

// ServePprof serves net/http/pprof's handlers on addr, which must be a
// loopback address, in the background.
func ServePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("pprof address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("pprof address %q: only loopback addresses are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// fetchProfile saves the profile at pprofAddr's /debug/pprof/NAME taken
// over seconds (a delta for allocs) to path.
func fetchProfile(ctx context.Context, pprofAddr, name string, seconds int, path string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", pprofAddr, name, seconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetch %s profile: %w", name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s profile: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("fetch %s profile: answered %d: %s", name, resp.StatusCode, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("fetch %s profile: %w", name, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("fetch %s profile: %w", name, err)
	}
	return f.Close()
}

// profiler takes a CPU and an allocation profile of a hookd child at once.
type profiler struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	errs  []error
	files []string
	secs  int
}

// startProfiles starts taking CPU and allocation profiles of p, half a
// second from now for Options.ProfileSeconds, into OUT/NAME-cpu.pprof and
// OUT/NAME-allocs.pprof. It returns nil when p serves no profiles.
func (e *env) startProfiles(ctx context.Context, p *Process, name string) *profiler {
	if p == nil || p.PprofAddr == "" {
		return nil
	}
	pr := &profiler{secs: e.o.ProfileSeconds}
	for _, kind := range []struct{ endpoint, suffix string }{{"profile", "cpu"}, {"allocs", "allocs"}} {
		file := fmt.Sprintf("%s-%s.pprof", name, kind.suffix)
		pr.files = append(pr.files, file)
		pr.wg.Add(1)
		go func() {
			defer pr.wg.Done()
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			if err := fetchProfile(ctx, p.PprofAddr, kind.endpoint, pr.secs, filepath.Join(e.o.Out, file)); err != nil {
				pr.mu.Lock()
				pr.errs = append(pr.errs, err)
				pr.mu.Unlock()
			}
		}()
	}
	return pr
}

// wait waits for the profiles and notes them, or their errors, in r.
func (pr *profiler) wait(r *Result) {
	if pr == nil {
		return
	}
	pr.wg.Wait()
	for _, err := range pr.errs {
		r.Notef("%v", err)
	}
	r.Notef("hookd profiles over %ds: %s (go tool pprof -top HOOKD_BINARY FILE)", pr.secs, strings.Join(pr.files, ", "))
}
