package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd/signature"
)

// Listener is `hookd listen`: a local receiver that verifies each delivery's
// X-Argyle-Signature, prints it, optionally relays it, and answers 200.
type Listener struct {
	// Addr defaults to 127.0.0.1:4242.
	Addr string
	// Secret, when set, verifies X-Argyle-Signature; a mismatch is printed
	// and answered 401 so the sender retries.
	Secret string
	// ForwardTo, when set, receives the exact body and headers, and its
	// answer becomes the listener's.
	ForwardTo string
	// Color adds ANSI colours to the output.
	Color bool
	Out   io.Writer

	mu     sync.Mutex
	client *http.Client
	ln     net.Listener
	srv    *http.Server
}

// Open starts listening.
func (l *Listener) Open() error {
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return err
	}
	l.ln = ln
	l.client = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return nil
}

// URL is the listener's base URL.
func (l *Listener) URL() string { return "http://" + l.ln.Addr().String() }

// Close stops the listener.
func (l *Listener) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.srv.Shutdown(ctx)
}

func (l *Listener) paint(code, s string) string {
	if !l.Color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// ServeHTTP handles one delivery.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var env struct {
		Event string `json:"event"`
		Name  string `json:"name"`
	}
	_ = json.Unmarshal(body, &env)

	verdict, status := l.paint("33", "unsigned"), http.StatusOK
	if got := r.Header.Get("X-Argyle-Signature"); l.Secret != "" {
		if signature.VerifyArgyle(l.Secret, body, got) {
			verdict = l.paint("32", "signature ok")
		} else {
			verdict, status = l.paint("31", "SIGNATURE MISMATCH"), http.StatusUnauthorized
		}
	} else if got != "" {
		verdict = "signed (pass --secret to verify)"
	}

	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "  ", "  ") != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	event := env.Event
	if event == "" {
		event = r.Method + " " + r.URL.Path
	}
	l.mu.Lock()
	fmt.Fprintf(l.Out, "%s  %s  %s  webhook-id=%s  (%s)\n  %s\n",
		time.Now().Format("15:04:05"), l.paint("1;36", event), env.Name, r.Header.Get("webhook-id"), verdict, pretty.String())
	l.mu.Unlock()

	if l.ForwardTo != "" && status == http.StatusOK {
		l.forward(w, r, body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, `{"received":true}`)
	} else {
		io.WriteString(w, `{"error":"signature mismatch"}`)
	}
}

// forward relays the exact bytes and headers to ForwardTo and answers with
// its status and body.
func (l *Listener) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, l.ForwardTo, bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, vs := range r.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		l.mu.Lock()
		fmt.Fprintf(l.Out, "  %s %v\n", l.paint("31", "forward failed:"), err)
		l.mu.Unlock()
		http.Error(w, "forward failed", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	l.mu.Lock()
	fmt.Fprintf(l.Out, "  -> %s answered %d\n", l.ForwardTo, resp.StatusCode)
	l.mu.Unlock()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(b)
}

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", "listen [--addr 127.0.0.1:4242] [--secret S] [--forward-to URL]", stderr)
	l := &Listener{Out: stdout}
	fs.StringVar(&l.Addr, "addr", envOr("HOOKD_LISTEN_ADDR", "127.0.0.1:4242"), "address to listen on")
	fs.StringVar(&l.Secret, "secret", envOr("HOOKD_LISTEN_SECRET", ""), "webhook secret to verify X-Argyle-Signature with")
	fs.StringVar(&l.ForwardTo, "forward-to", "", "relay each delivery, bytes and headers unchanged, to this URL")
	color := fs.String("color", "auto", "colour output: auto, always or never")
	if rest, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("listen: unexpected argument %q", rest[0])
	}
	switch *color {
	case "always":
		l.Color = true
	case "auto":
		l.Color = isTerminal(stdout)
	case "never":
	default:
		return usagef("listen: --color must be auto, always or never")
	}
	if l.ForwardTo != "" && !strings.HasPrefix(l.ForwardTo, "http://") && !strings.HasPrefix(l.ForwardTo, "https://") {
		return usagef("listen: --forward-to must be an http:// or https:// URL")
	}
	if err := l.Open(); err != nil {
		return fmt.Errorf("listen on %s: %w", l.Addr, err)
	}
	fmt.Fprintf(stdout, "Listening for webhooks on %s (Ctrl-C to stop)\n", l.URL())
	if l.Secret == "" {
		fmt.Fprintln(stdout, "No --secret given: signatures are shown but not verified.")
	}
	<-ctx.Done()
	err := l.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
