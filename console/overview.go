package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookd/hookd"
)

// The overview chart covers chartSpan in chartBuckets buckets, read from at
// most chartMaxPages pages of the delivery log.
const (
	chartSpan     = time.Hour
	chartBuckets  = 60
	chartPageSize = 200
	chartMaxPages = 50
)

// Chart geometry, in SVG user units.
const (
	chartWidth  = 640.0
	chartHeight = 200.0
	plotLeft    = 48.0
	plotRight   = 632.0
	plotTop     = 10.0
	plotBottom  = 176.0
)

type bar struct {
	X, W          float64
	Y, H          float64 // all deliveries
	FailY, FailH  float64 // the failing ones
	Total, Failed int
	Start         time.Time
}

type axisLabel struct {
	X, Y   float64
	Text   string
	Anchor string // SVG text-anchor
}

type chart struct {
	Width, Height float64
	Left, Right   float64
	Top, Bottom   float64
	Bars          []bar
	YLabels       []axisLabel
	XLabels       []axisLabel
	Max           int
	Total, Failed int
	Pending       int
	// Truncated reports that the hour held more deliveries than the chart
	// reads; the counts are then a lower bound.
	Truncated bool
}

type overviewData struct {
	Chart     chart
	Queue     hookd.QueueStats
	OldestAge string
	Updated   time.Time
}

// handleOverview handles GET /console/: the delivery chart and queue depth.
func (h *Handler) handleOverview(w http.ResponseWriter, r *http.Request) {
	d, err := h.overview(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Data: d})
}

// handleOverviewLive handles GET /console/overview/live: the part of the
// overview that htmx polls every five seconds.
func (h *Handler) handleOverviewLive(w http.ResponseWriter, r *http.Request) {
	d, err := h.overview(r)
	if err != nil {
		h.renderError(w, r, err)
		return
	}
	h.renderTemplate(w, r, http.StatusOK, "overview", "live", page{Data: d})
}

func (h *Handler) overview(r *http.Request) (*overviewData, error) {
	s := sessionFrom(r.Context())
	now := h.now().UTC()
	end := now.Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-chartSpan)
	c := chart{Width: chartWidth, Height: chartHeight, Left: plotLeft, Right: plotRight, Top: plotTop, Bottom: plotBottom}
	total := make([]int, chartBuckets)
	failed := make([]int, chartBuckets)
	f := hookd.DeliveryFilter{TenantID: s.TenantID, CreatedFrom: &start, Page: hookd.Page{Limit: chartPageSize}}
	for i := 0; ; i++ {
		if i == chartMaxPages {
			c.Truncated = true
			break
		}
		ds, more, err := h.DeliveryService.FindDeliveries(r.Context(), f)
		if err != nil {
			return nil, fmt.Errorf("find deliveries for chart: %w", err)
		}
		for _, d := range ds {
			b := int(d.CreatedAt.Sub(start) / (chartSpan / chartBuckets))
			if b < 0 || b >= chartBuckets {
				continue
			}
			total[b]++
			c.Total++
			if failing(d) {
				failed[b]++
				c.Failed++
			}
			if d.Status == hookd.DeliveryPending {
				c.Pending++
			}
		}
		if !more || len(ds) == 0 {
			break
		}
		last := ds[len(ds)-1]
		f.Page.After = &hookd.Cursor{Time: last.CreatedAt, ID: last.ID}
	}
	for _, n := range total {
		c.Max = max(c.Max, n)
	}
	scale := niceMax(c.Max)
	step := (plotRight - plotLeft) / chartBuckets
	height := plotBottom - plotTop
	for i := range chartBuckets {
		b := bar{X: plotLeft + float64(i)*step + 1, W: step - 2, Total: total[i], Failed: failed[i],
			Start: start.Add(time.Duration(i) * chartSpan / chartBuckets)}
		b.H = height * float64(total[i]) / float64(scale)
		b.Y = plotBottom - b.H
		b.FailH = height * float64(failed[i]) / float64(scale)
		b.FailY = plotBottom - b.FailH
		c.Bars = append(c.Bars, b)
	}
	c.YLabels = []axisLabel{
		{X: plotLeft - 6, Y: plotBottom + 4, Text: "0", Anchor: "end"},
		{X: plotLeft - 6, Y: plotTop + height/2 + 4, Text: fmt.Sprint(scale / 2), Anchor: "end"},
		{X: plotLeft - 6, Y: plotTop + 4, Text: fmt.Sprint(scale), Anchor: "end"},
	}
	for _, m := range []int{0, 15, 30, 45, 60} {
		anchor := "middle"
		switch m {
		case 0:
			anchor = "start"
		case 60:
			anchor = "end"
		}
		c.XLabels = append(c.XLabels, axisLabel{
			X:      plotLeft + float64(m)*step,
			Y:      plotBottom + 18,
			Text:   start.Add(time.Duration(m) * time.Minute).Format("15:04"),
			Anchor: anchor,
		})
	}
	q, err := h.DeliveryService.QueueStats(r.Context(), now)
	if err != nil {
		return nil, fmt.Errorf("queue stats: %w", err)
	}
	d := &overviewData{Chart: c, Queue: q, Updated: now}
	if q.OldestDue != nil {
		d.OldestAge = now.Sub(*q.OldestDue).Truncate(time.Second).String()
	}
	return d, nil
}

// niceMax returns the chart's top value: an even number at least n (and at
// least 2), rounded up to 1, 2 or 5 times a power of ten when large.
func niceMax(n int) int {
	if n <= 2 {
		return 2
	}
	p := 1
	for p*10 < n {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if v := m * p; v >= n && v%2 == 0 {
			return v
		}
	}
	return 10 * p
}
