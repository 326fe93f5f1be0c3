package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress prints a live status line while a scenario runs: rewritten in
// place on a terminal, one line every few seconds otherwise.
type progress struct {
	w    io.Writer
	live bool

	mu     sync.Mutex
	status func() string
	stop   chan struct{}
	done   chan struct{}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, live: isTerminal(w), stop: make(chan struct{}), done: make(chan struct{})}
	every := 5 * time.Second
	if p.live {
		every = 250 * time.Millisecond
	}
	go p.loop(every)
	return p
}

func (p *progress) loop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.print()
		}
	}
}

func (p *progress) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == nil {
		return
	}
	line := p.status()
	if p.live {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// set shows status from now on; nil clears the line.
func (p *progress) set(status func() string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status != nil && p.live {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.status = status
}

func (p *progress) close() {
	p.set(nil)
	close(p.stop)
	<-p.done
}

// bar renders n of total as a 20-character bar with a percentage.
func bar(n, total int64) string {
	const width = 20
	if total <= 0 {
		return "[" + fmt.Sprintf("%*s", width, "") + "]"
	}
	f := min(max(float64(n)/float64(total), 0), 1)
	full := int(f * width)
	b := make([]byte, width)
	for i := range b {
		switch {
		case i < full:
			b[i] = '#'
		default:
			b[i] = '.'
		}
	}
	return fmt.Sprintf("[%s] %3.0f%%", b, 100*f)
}
