package bench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Point is one (x, y) value of a series; x is in seconds.
type Point struct{ X, Y float64 }

// Series is a named line on a chart panel.
type Series struct {
	Name   string
	Points []Point
}

// Panel is one plot of a chart, with its own y axis.
type Panel struct {
	Title, YLabel string
	Series        []Series
	// LogY plots y on a log10 scale (values must be positive).
	LogY bool
	// Threshold, when positive, is drawn as a dashed red line (a target).
	Threshold float64
}

// Chart is panels stacked vertically over a shared x axis in seconds.
type Chart struct {
	Title  string
	Panels []Panel
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"}

// WriteSVG writes c as a standalone SVG image.
func (c *Chart) WriteSVG(w io.Writer) error {
	const (
		width   = 960
		panelH  = 260
		left    = 80
		right   = 30
		top     = 50
		gap     = 60
		plotW   = width - left - right
		plotH   = panelH - 40
		fontCSS = "font-family:sans-serif;font-size:12px"
	)
	height := top + len(c.Panels)*(panelH+gap)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" style="%s">`+"\n", width, height, width, height, fontCSS)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(c.Title))

	// Shared x range.
	xmax := 0.0
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, pt := range s.Points {
				xmax = math.Max(xmax, pt.X)
			}
		}
	}
	if xmax <= 0 {
		xmax = 1
	}
	xticks := niceTicks(0, xmax, 8)
	xmax = math.Max(xmax, xticks[len(xticks)-1])

	for i, p := range c.Panels {
		y0 := top + i*(panelH+gap) + 20
		fmt.Fprintf(bw, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", left, y0-6, html.EscapeString(p.Title))
		ymin, ymax := math.Inf(1), 0.0
		for _, s := range p.Series {
			for _, pt := range s.Points {
				ymax = math.Max(ymax, pt.Y)
				if pt.Y > 0 {
					ymin = math.Min(ymin, pt.Y)
				}
			}
		}
		ymax = math.Max(ymax, p.Threshold*1.1)
		if ymax <= 0 {
			ymax = 1
		}
		var yticks []float64
		var ypos func(v float64) float64
		if p.LogY {
			lo := math.Floor(math.Log10(math.Min(ymin, ymax)))
			if math.IsInf(lo, 0) || math.IsNaN(lo) {
				lo = 0
			}
			hi := math.Max(math.Ceil(math.Log10(ymax)), lo+1)
			for e := lo; e <= hi; e++ {
				yticks = append(yticks, math.Pow(10, e))
			}
			ypos = func(v float64) float64 {
				v = math.Max(v, math.Pow(10, lo))
				return float64(y0+plotH) - (math.Log10(v)-lo)/(hi-lo)*plotH
			}
		} else {
			yticks = niceTicks(0, ymax*1.05, 5)
			top := yticks[len(yticks)-1]
			ypos = func(v float64) float64 { return float64(y0+plotH) - v/top*plotH }
		}
		xpos := func(v float64) float64 { return left + v/xmax*plotW }

		// Grid and axes.
		for _, t := range yticks {
			y := ypos(t)
			fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`+"\n", left, y, left+plotW, y)
			fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, formatTick(t))
		}
		for _, t := range xticks {
			x := xpos(t)
			fmt.Fprintf(bw, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#f0f0f0"/>`+"\n", x, y0, x, y0+plotH)
			fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, y0+plotH+16, formatTick(t))
		}
		fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, y0, plotW, plotH)
		fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle" transform="rotate(-90 %d %d)">%s</text>`+"\n",
			18, y0+plotH/2, 18, y0+plotH/2, html.EscapeString(p.YLabel))
		fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle">seconds</text>`+"\n", left+plotW/2, y0+plotH+32)
		if p.Threshold > 0 {
			y := ypos(p.Threshold)
			fmt.Fprintf(bw, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d62728" stroke-dasharray="6 4"/>`+"\n", left, y, left+plotW, y)
			fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end" fill="#d62728">target %s</text>`+"\n", left+plotW-4, y-4, formatTick(p.Threshold))
		}

		// Lines and legend.
		for j, s := range p.Series {
			color := palette[j%len(palette)]
			if len(s.Points) > 0 {
				fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="`, color)
				for k, pt := range s.Points {
					if k > 0 {
						bw.WriteByte(' ')
					}
					fmt.Fprintf(bw, "%.1f,%.1f", xpos(pt.X), ypos(pt.Y))
				}
				fmt.Fprintf(bw, `"/>`+"\n")
			}
			lx := left + 10 + j*150
			fmt.Fprintf(bw, `<rect x="%d" y="%d" width="12" height="3" fill="%s"/>`, lx, y0+10, color)
			fmt.Fprintf(bw, `<text x="%d" y="%d">%s</text>`+"\n", lx+16, y0+15, html.EscapeString(s.Name))
		}
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// niceTicks returns about n evenly spaced round values covering lo..hi.
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for v := math.Floor(lo/step) * step; len(ticks) < 4*n+2; v += step {
		ticks = append(ticks, v)
		if v >= hi {
			break
		}
	}
	return ticks
}

func formatTick(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
