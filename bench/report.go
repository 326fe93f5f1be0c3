package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Metric is one measured number of a scenario.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Target describes the goal, such as ">= 10000"; empty when none.
	Target string `json:"target,omitempty"`
	// Met reports whether Value meets Target; nil when there is no target.
	Met *bool `json:"met,omitempty"`
	// VsCeiling compares Value with the ceiling measured in the same run,
	// such as "57% of ceiling" or "3.1x ceiling p99".
	VsCeiling string `json:"vs_ceiling,omitempty"`
	// Ratio is the number behind VsCeiling.
	Ratio float64 `json:"ratio,omitempty"`
	// Headline marks the metrics the final summary shows.
	Headline bool `json:"headline,omitempty"`
}

// Result is what one scenario measured.
type Result struct {
	Scenario string         `json:"scenario"`
	Title    string         `json:"title"`
	Started  time.Time      `json:"started"`
	Elapsed  float64        `json:"elapsed_s"`
	Params   map[string]any `json:"params,omitempty"`
	Metrics  []Metric       `json:"metrics"`
	// Errors counts what should not happen (bad signatures, duplicates,
	// failed publishes); empty in a clean run.
	Errors map[string]int64 `json:"errors,omitempty"`
	Notes  []string         `json:"notes,omitempty"`
	// CPU says where the machine's CPU went while the scenario ran.
	CPU *CPUUse `json:"cpu,omitempty"`
	// Charts are the SVG files written, relative to the output directory.
	Charts []string `json:"charts,omitempty"`
	// Err is set when the scenario could not finish.
	Err string `json:"error,omitempty"`
}

// Add appends a metric and returns a pointer to it for adding a target.
func (r *Result) Add(name string, value float64, unit string) *Metric {
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: round(value), Unit: unit})
	return &r.Metrics[len(r.Metrics)-1]
}

// Metric returns the metric called name, or nil.
func (r *Result) Metric(name string) *Metric {
	for i := range r.Metrics {
		if r.Metrics[i].Name == name {
			return &r.Metrics[i]
		}
	}
	return nil
}

// AddError adds n to the error count called name when n is not zero.
func (r *Result) AddError(name string, n int64) {
	if n == 0 {
		return
	}
	if r.Errors == nil {
		r.Errors = map[string]int64{}
	}
	r.Errors[name] += n
}

// Notef adds a note.
func (r *Result) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// AtLeast sets m's target to value or more.
func (m *Metric) AtLeast(target float64) *Metric {
	m.Target = ">= " + formatValue(target)
	met := m.Value >= target
	m.Met = &met
	return m
}

// Below sets m's target to under value.
func (m *Metric) Below(target float64) *Metric {
	m.Target = "< " + formatValue(target)
	met := m.Value < target
	m.Met = &met
	return m
}

// Head marks m as a headline metric.
func (m *Metric) Head() *Metric {
	m.Headline = true
	return m
}

// Share sets m's comparison as a fraction of a ceiling rate.
func (m *Metric) Share(ceiling float64) *Metric {
	if ceiling > 0 {
		m.Ratio = round(m.Value / ceiling)
		m.VsCeiling = fmt.Sprintf("%.0f%% of ceiling", 100*m.Value/ceiling)
	}
	return m
}

// Times sets m's comparison as a multiple of a ceiling latency.
func (m *Metric) Times(ceiling float64, what string) *Metric {
	if ceiling > 0 {
		m.Ratio = round(m.Value / ceiling)
		m.VsCeiling = fmt.Sprintf("%.1fx ceiling %s", m.Value/ceiling, what)
	}
	return m
}

func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

func formatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) >= 1000:
		s := strconv.FormatInt(int64(v), 10)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case math.Abs(v) >= 1000:
		return formatValue(math.Round(v))
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func metStatus(m Metric) string {
	switch {
	case m.Met == nil && m.Target != "":
		return "not judged" // a smoke run's (see Result.unjudge)
	case m.Met == nil:
		return ""
	case *m.Met:
		return "met"
	}
	return "MISSED"
}

// unjudge drops every metric's verdict and keeps its target: a smoke run's
// sizes are too small for its numbers to say anything about the targets,
// which are set for a full run on the machine of BENCHMARKS.md.
func (r *Result) unjudge() {
	for i := range r.Metrics {
		r.Metrics[i].Met = nil
	}
}

// PrintTable writes r as an aligned table.
func PrintTable(w io.Writer, r *Result) {
	fmt.Fprintf(w, "\n== %s: %s (%.1fs, load average %v before, %v after)\n", r.Scenario, r.Title, r.Elapsed, r.Params["loadavg_before"], r.Params["loadavg_after"])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tvalue\tunit\ttarget\t\tvs ceiling")
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, formatValue(m.Value), m.Unit, m.Target, metStatus(m), m.VsCeiling)
	}
	tw.Flush()
	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "  cpu (cores, averaged over the scenario): hookd %.2f, bench %.2f, other processes %.2f, idle %.2f\n", c.Hookd, c.Bench, c.Other, c.Idle)
	}
	for name, n := range r.Errors {
		fmt.Fprintf(w, "  ERROR %s: %d\n", name, n)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, c := range r.Charts {
		fmt.Fprintf(w, "  chart: %s\n", c)
	}
	if r.Err != "" {
		fmt.Fprintf(w, "  FAILED: %s\n", r.Err)
	}
}

// PrintSummary writes the headline metrics of every result.
func PrintSummary(w io.Writer, results []*Result) {
	fmt.Fprintln(w, "\n== summary")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tmetric\tvalue\tunit\ttarget\t\tvs ceiling")
	for _, r := range results {
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t(failed: %.60s)\t\t\t\t\t\n", r.Scenario, r.Err)
		}
		for _, m := range r.Metrics {
			if m.Headline {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Scenario, m.Name, formatValue(m.Value), m.Unit, m.Target, metStatus(m), m.VsCeiling)
			}
		}
	}
	tw.Flush()
	var errs, failed []string
	for _, r := range results {
		for name, n := range r.Errors {
			errs = append(errs, fmt.Sprintf("%s %s=%d", r.Scenario, name, n))
		}
		if r.Err != "" {
			failed = append(failed, r.Scenario)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "errors: %s\n", strings.Join(errs, ", "))
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "did not finish: %s (see their tables)\n", strings.Join(failed, ", "))
	}
	if len(errs) == 0 && len(failed) == 0 {
		fmt.Fprintln(w, "errors: none (every delivery verified, no duplicates)")
	}
}

// writeJSON writes v, indented, to dir/name.
func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeChart writes c as dir/name.
func writeChart(dir, name string, c *Chart) error {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	if err := c.WriteSVG(f); err != nil {
		f.Close()
		return fmt.Errorf("write chart: %w", err)
	}
	return f.Close()
}
