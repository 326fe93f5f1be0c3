package bench

import (
	"os"
	"testing"
)

func TestParseHookPath(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		path      string
		run, hook int
		kind      byte
		ok        bool
	}{
		{"/r/1/o/0", 1, 0, KindOK, true},
		{"/r/1023/h/999", 1023, 999, KindHang, true},
		{"/r/12/f/7", 12, 7, KindFail, true},
		{"/r/1024/o/0", 0, 0, 0, false},
		{"/r/1/x/0", 0, 0, 0, false},
		{"/r/1/o/", 0, 0, 0, false},
		{"/r/1/o/3/extra", 0, 0, 0, false},
		{"/r//o/3", 0, 0, 0, false},
		{"/healthz", 0, 0, 0, false},
	} {
		run, kind, hook, ok := parseHookPath(c.path)
		if run != c.run || kind != c.kind || hook != c.hook || ok != c.ok {
			t.Errorf("parseHookPath(%q) got %d %q %d %v, want %d %q %d %v", c.path, run, kind, hook, ok, c.run, c.kind, c.hook, c.ok)
		}
	}
}

func TestFindInt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body string
		want int64
		ok   bool
	}{
		{`{"bench_ts":123,"x":1}`, 123, true},
		{"{\n  \"bench_ts\": 1700000000123456789\n}", 1700000000123456789, true},
		{`{"bench_ts":"123"}`, 0, false},
		{`{"other":1}`, 0, false},
	} {
		got, ok := findInt([]byte(c.body), `"bench_ts":`)
		if got != c.want || ok != c.ok {
			t.Errorf("findInt(%q) got %d %v, want %d %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

func TestCPUAccounting(t *testing.T) {
	t.Parallel()
	if _, err := readCPUTicks(os.Getpid()); err != nil {
		t.Fatalf("readCPUTicks(self): %v", err)
	}
	busy, total, err := machineTicks()
	if err != nil {
		t.Fatalf("machineTicks: %v", err)
	}
	if busy <= 0 || total < busy {
		t.Errorf("machineTicks got busy %d, total %d, want 0 < busy <= total", busy, total)
	}
	if rss, err := readRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("readRSS(self) got %d, %v, want > 0", rss, err)
	}
	a := cpuSnapshot{busy: 100, total: 400, hookd: 50, self: 20}
	b := cpuSnapshot{busy: 300, total: 800, hookd: 150, self: 60}
	got := cpuUse(a, b, 2)
	want := CPUUse{Hookd: 0.5, Bench: 0.2, Other: 0.3, Idle: 1}
	if *got != want {
		t.Errorf("cpuUse got %+v, want %+v", *got, want)
	}
}

func TestCPUPer(t *testing.T) {
	a := cpuSnapshot{hookd: 100, self: 40}
	b := cpuSnapshot{hookd: 250, self: 90}
	// 150 ticks (1.5 s) of hookd and 50 (0.5 s) of the bench over 1,000 items.
	if h, s := cpuPer(a, b, 1000); h != 1500 || s != 500 {
		t.Errorf("cpuPer = %v, %v µs, want 1500, 500", h, s)
	}
	if h, s := cpuPer(a, b, 0); h != 0 || s != 0 {
		t.Errorf("cpuPer of no items = %v, %v, want 0, 0", h, s)
	}
}
