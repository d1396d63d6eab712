package plot

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Limits on what a figure may ask for, so a guest cannot make the host allocate huge images.
const (
	MaxPixels = 4000 * 4000
	MaxPoints = 1_000_000
	MaxAxes   = 64
)

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func init() {
	// matplotlib's look: a sans-serif face throughout.
	plot.DefaultFont = sans
	plotter.DefaultFont = sans
}

// ErrInvalid is wrapped by the errors of figures matplotlib would refuse too (the guest shows
// them as ValueError).
var ErrInvalid = errors.New("plot: invalid figure")

// Render draws f as a PNG. A figure the renderer cannot draw is an error, never a panic.
func Render(f Figure) (png []byte, err error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			png, err = nil, fmt.Errorf("%w: the renderer cannot draw this figure: %v", ErrInvalid, r)
		}
	}()
	w, h := vg.Length(f.Width)*vg.Inch, vg.Length(f.Height)*vg.Inch
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(int(f.DPI)), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	if f.Suptitle != "" {
		sty := draw.TextStyle{Color: color.Black, Font: font.From(sans, 14), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - 6}, f.Suptitle)
		dc.Max.Y -= sty.Height(f.Suptitle) + 10
	}
	rows, cols := max(f.Rows, 1), max(f.Cols, 1)
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for _, a := range f.Axes {
		p, err := axes(a)
		if err != nil {
			return nil, err
		}
		if a.Row < rows && a.Col < cols {
			grid[a.Row][a.Col] = p
		}
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadTop: 6, PadBottom: 6, PadLeft: 6, PadRight: 10, PadX: 14, PadY: 14}
	canvases := plot.Align(grid, tiles, dc)
	for r := range grid {
		for col, p := range grid[r] {
			if p != nil {
				p.Draw(canvases[r][col])
			}
		}
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (f *Figure) validate() error {
	if f.DPI == 0 {
		f.DPI = 100
	}
	if !finite(f.DPI) || f.DPI < 1 || f.DPI > 2000 {
		return fmt.Errorf("%w: dpi must be between 1 and 2000, got %g", ErrInvalid, f.DPI)
	}
	if f.Width == 0 && f.Height == 0 {
		f.Width, f.Height = 6.4, 4.8
	}
	if !finite(f.Width) || !finite(f.Height) || f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("%w: figure size must be positive and finite, got %gx%g inches", ErrInvalid, f.Width, f.Height)
	}
	if f.Width*f.DPI*f.Height*f.DPI > MaxPixels {
		return fmt.Errorf("plot: figure of %.0fx%.0f pixels is larger than the %d-pixel limit", f.Width*f.DPI, f.Height*f.DPI, MaxPixels)
	}
	if len(f.Axes) > MaxAxes || f.Rows*f.Cols > MaxAxes {
		return fmt.Errorf("plot: more than %d subplots", MaxAxes)
	}
	n := 0
	for _, a := range f.Axes {
		for _, s := range a.Series {
			n += len(s.X) + len(s.Y) + len(s.Height) + len(s.Counts) + len(s.Y1)
		}
	}
	if n > MaxPoints {
		return fmt.Errorf("plot: %d data points is more than the %d-point limit", n, MaxPoints)
	}
	for _, a := range f.Axes {
		for _, s := range a.Series {
			if s.FontSize != 0 && (!finite(s.FontSize) || s.FontSize < 0 || s.FontSize > 500) {
				return fmt.Errorf("%w: fontsize must be between 0 and 500, got %g", ErrInvalid, s.FontSize)
			}
			for _, lw := range []float64{s.LineWidth, s.MarkerSize, s.Size, s.Width} {
				if !finite(lw) || lw < 0 || lw > 1e4 {
					return fmt.Errorf("%w: line width, marker size and bar width must be between 0 and 10000, got %g", ErrInvalid, lw)
				}
			}
			if a.XScale == "log" {
				if err := positive("x", s.X); err != nil {
					return err
				}
			}
			if a.YScale == "log" {
				for _, ys := range [][]float64{s.Y, s.Height, s.Counts} {
					if err := positive("y", ys); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// positive refuses what a log axis cannot show.
func positive(axis string, vs []float64) error {
	for _, v := range vs {
		if v <= 0 || math.IsNaN(v) {
			return fmt.Errorf("%w: %s values must be positive on a log-scaled axis, got %g", ErrInvalid, axis, v)
		}
	}
	return nil
}

// parseColor reads "#rrggbb"; alpha is 0..1.
func parseColor(s string, alpha float64) color.Color {
	if alpha <= 0 || alpha > 1 {
		alpha = 1
	}
	c := color.NRGBA{A: uint8(math.Round(alpha * 255))}
	if len(s) == 7 && s[0] == '#' {
		if v, err := strconv.ParseUint(s[1:], 16, 32); err == nil {
			c.R, c.G, c.B = uint8(v>>16), uint8(v>>8), uint8(v)
			return c
		}
	}
	c.R, c.G, c.B = 0x1f, 0x77, 0xb4
	return c
}

func dashes(style string, width vg.Length) []vg.Length {
	switch style {
	case "dashed":
		return []vg.Length{3.7 * width, 1.6 * width}
	case "dotted":
		return []vg.Length{1 * width, 1.65 * width}
	case "dashdot":
		return []vg.Length{6.4 * width, 1.6 * width, 1 * width, 1.6 * width}
	}
	return nil
}

func glyph(marker string, size float64, c color.Color) draw.GlyphStyle {
	g := draw.GlyphStyle{Color: c, Radius: vg.Length(max(size, 1)) / 2 * 0.75 * vg.Points(1)}
	switch marker {
	case "s", "D", "d":
		g.Shape = draw.BoxGlyph{}
	case "^", "v", "<", ">":
		g.Shape = draw.TriangleGlyph{}
	case "x":
		g.Shape = draw.CrossGlyph{}
	case "+", "|", "_":
		g.Shape = draw.PlusGlyph{}
	case ".", ",":
		g.Shape = draw.CircleGlyph{}
		g.Radius = vg.Points(1.2)
	case "*", "p", "h":
		g.Shape = draw.PyramidGlyph{}
	default:
		g.Shape = draw.CircleGlyph{}
	}
	return g
}

func xys(x, y []float64) (plotter.XYs, error) {
	if len(x) != len(y) {
		return nil, errors.New("plot: x and y differ in length")
	}
	out := make(plotter.XYs, 0, len(x))
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) || math.IsInf(x[i], 0) || math.IsInf(y[i], 0) {
			continue
		}
		out = append(out, plotter.XY{X: x[i], Y: y[i]})
	}
	return out, nil
}

// axes builds one subplot.
func axes(a Axes) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = a.Title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.X.Label.Text = a.XLabel
	p.Y.Label.Text = a.YLabel
	p.X.Label.TextStyle.Font = font.From(sans, 10)
	p.Y.Label.TextStyle.Font = font.From(sans, 10)
	p.X.Tick.Label.Font = font.From(sans, 9)
	p.Y.Tick.Label.Font = font.From(sans, 9)
	p.Legend.TextStyle.Font = font.From(sans, 9)
	p.Legend.Top = true
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = -vg.Points(6)
	if a.Grid {
		g := plotter.NewGrid()
		g.Vertical.Color = color.Gray{Y: 0xb0}
		g.Horizontal.Color = color.Gray{Y: 0xb0}
		g.Vertical.Width, g.Horizontal.Width = vg.Points(0.6), vg.Points(0.6)
		p.Add(g)
	}
	for _, s := range a.Series {
		if err := addSeries(p, s); err != nil {
			return nil, err
		}
	}
	// matplotlib's margins: 5% of the data range on each side, except where bars or histograms
	// stand on zero.
	sticky := false
	for _, s := range a.Series {
		sticky = sticky || s.Kind == "bar" || s.Kind == "hist"
	}
	if a.XScale != "log" {
		pad(&p.X, false)
	}
	if a.YScale != "log" {
		pad(&p.Y, sticky)
	}
	if a.XScale == "log" {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if a.YScale == "log" {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if len(a.Categories) > 0 && a.XTicks == nil {
		ticks := make(plot.ConstantTicks, len(a.Categories))
		for i, c := range a.Categories {
			ticks[i] = plot.Tick{Value: float64(i), Label: c}
		}
		horizontal := false
		for _, s := range a.Series {
			horizontal = horizontal || (s.Kind == "bar" && s.Horizontal)
		}
		if horizontal {
			p.Y.Tick.Marker = ticks
		} else {
			p.X.Tick.Marker = ticks
		}
	}
	if t := a.XTicks; t != nil {
		p.X.Tick.Marker = constTicks(t)
	}
	if t := a.YTicks; t != nil {
		p.Y.Tick.Marker = constTicks(t)
	}
	applyLim(&p.X, a.XLim)
	applyLim(&p.Y, a.YLim)
	if a.Legend == nil {
		p.Legend = plot.NewLegend()
		p.Legend.TextStyle.Font = font.From(sans, 9)
	}
	return p, nil
}

func pad(ax *plot.Axis, stickyZero bool) {
	span := ax.Max - ax.Min
	if span <= 0 || math.IsInf(span, 0) || math.IsNaN(span) {
		return
	}
	if !(stickyZero && ax.Min == 0) {
		ax.Min -= 0.05 * span
	}
	if !(stickyZero && ax.Max == 0) {
		ax.Max += 0.05 * span
	}
}

func constTicks(t *Ticks) plot.ConstantTicks {
	out := make(plot.ConstantTicks, len(t.Ticks))
	for i, v := range t.Ticks {
		out[i] = plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)}
		if t.Labels != nil {
			out[i].Label = ""
			if i < len(t.Labels) {
				out[i].Label = t.Labels[i]
			}
		}
	}
	return out
}

func applyLim(ax *plot.Axis, lim []*float64) {
	if len(lim) != 2 {
		return
	}
	if lim[0] != nil {
		ax.Min = *lim[0]
	}
	if lim[1] != nil {
		ax.Max = *lim[1]
	}
}

func addSeries(p *plot.Plot, s Series) error {
	col := parseColor(s.Color, s.Alpha)
	switch s.Kind {
	case "line":
		pts, err := xys(s.X, s.Y)
		if err != nil || len(pts) == 0 {
			return err
		}
		var things []plot.Thumbnailer
		if s.LineStyle != "none" {
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			l.Color = col
			l.Width = vg.Points(max(s.LineWidth, 0.5))
			l.Dashes = dashes(s.LineStyle, l.Width)
			p.Add(l)
			things = append(things, l)
		}
		if s.Marker != "" && s.Marker != "None" && s.Marker != "none" {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.GlyphStyle = glyph(s.Marker, max(s.MarkerSize, 1)*1.6, col)
			p.Add(sc)
			things = append(things, sc)
		}
		if s.Label != "" && len(things) > 0 {
			p.Legend.Add(s.Label, things...)
		}
	case "scatter":
		pts, err := xys(s.X, s.Y)
		if err != nil || len(pts) == 0 {
			return err
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.GlyphStyle = glyph(s.Marker, math.Sqrt(max(s.Size, 1))*1.4, col)
		p.Add(sc)
		if s.Label != "" {
			p.Legend.Add(s.Label, sc)
		}
	case "bar":
		var first *plotter.Polygon
		for i, x := range s.X {
			if i >= len(s.Height) {
				break
			}
			base := 0.0
			if i < len(s.Bottom) {
				base = s.Bottom[i]
			}
			c := col
			if i < len(s.Colors) {
				c = parseColor(s.Colors[i], s.Alpha)
			}
			x0, x1, y0, y1 := x-s.Width/2, x+s.Width/2, base, base+s.Height[i]
			if s.Horizontal {
				x0, x1, y0, y1 = base, base+s.Height[i], x-s.Width/2, x+s.Width/2
			}
			poly, err := rect(x0, x1, y0, y1, c)
			if err != nil {
				return err
			}
			p.Add(poly)
			if first == nil {
				first = poly
			}
		}
		if s.Label != "" && first != nil {
			p.Legend.Add(s.Label, first)
		}
	case "hist":
		var first *plotter.Polygon
		for i, n := range s.Counts {
			if i+1 >= len(s.Edges) {
				break
			}
			poly, err := rect(s.Edges[i], s.Edges[i+1], 0, n, col)
			if err != nil {
				return err
			}
			poly.LineStyle = draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}
			p.Add(poly)
			if first == nil {
				first = poly
			}
		}
		if s.Label != "" && first != nil {
			p.Legend.Add(s.Label, first)
		}
	case "fill":
		var ring plotter.XYs
		for i := range s.X {
			if i < len(s.Y1) {
				ring = append(ring, plotter.XY{X: s.X[i], Y: s.Y1[i]})
			}
		}
		for i := len(s.X) - 1; i >= 0; i-- {
			if i < len(s.Y2) {
				ring = append(ring, plotter.XY{X: s.X[i], Y: s.Y2[i]})
			}
		}
		if len(ring) < 3 {
			return nil
		}
		poly, err := plotter.NewPolygon(ring)
		if err != nil {
			return err
		}
		poly.Color = col
		poly.LineStyle.Width = 0
		p.Add(poly)
		if s.Label != "" {
			p.Legend.Add(s.Label, poly)
		}
	case "errorbar":
		pts, err := xys(s.X, s.Y)
		if err != nil || len(pts) == 0 {
			return err
		}
		if s.LineStyle != "none" {
			l, err := plotter.NewLine(pts)
			if err != nil {
				return err
			}
			l.Color = col
			l.Width = vg.Points(1.5)
			p.Add(l)
			if s.Label != "" {
				p.Legend.Add(s.Label, l)
			}
		}
		if s.Marker != "" {
			sc, _ := plotter.NewScatter(pts)
			sc.GlyphStyle = glyph(s.Marker, 8, col)
			p.Add(sc)
		}
		if len(s.YErr) == len(pts) {
			errs := make(plotter.YErrors, len(pts))
			for i, e := range s.YErr {
				errs[i] = struct{ Low, High float64 }{e, e}
			}
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{pts, errs})
			if err != nil {
				return err
			}
			eb.Color = col
			p.Add(eb)
		}
		if len(s.XErr) == len(pts) {
			errs := make(plotter.XErrors, len(pts))
			for i, e := range s.XErr {
				errs[i] = struct{ Low, High float64 }{e, e}
			}
			eb, err := plotter.NewXErrorBars(struct {
				plotter.XYs
				plotter.XErrors
			}{pts, errs})
			if err != nil {
				return err
			}
			eb.Color = col
			p.Add(eb)
		}
	case "hline", "vline":
		r := &refLine{vertical: s.Kind == "vline", color: col, width: vg.Points(max(s.LineWidth, 0.5))}
		if r.vertical && len(s.X) > 0 {
			r.v = s.X[0]
		} else if len(s.Y) > 0 {
			r.v = s.Y[0]
		}
		r.dashes = dashes(s.LineStyle, r.width)
		p.Add(r)
		if s.Label != "" {
			p.Legend.Add(s.Label, r)
		}
	case "text":
		if len(s.X) == 0 || len(s.Y) == 0 {
			return nil
		}
		p.Add(&label{x: s.X[0], y: s.Y[0], text: s.Text, size: s.FontSize, color: col})
	default:
		return fmt.Errorf("plot: unknown series kind %q", s.Kind)
	}
	return nil
}

func rect(x0, x1, y0, y1 float64, c color.Color) (*plotter.Polygon, error) {
	poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
	if err != nil {
		return nil, err
	}
	poly.Color = c
	poly.LineStyle.Width = 0
	return poly, nil
}

// refLine is axhline/axvline: a line across the whole data area.
type refLine struct {
	vertical bool
	v        float64
	color    color.Color
	width    vg.Length
	dashes   []vg.Length
}

func (r *refLine) style() draw.LineStyle {
	return draw.LineStyle{Color: r.color, Width: r.width, Dashes: r.dashes}
}

func (r *refLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	if r.vertical {
		x := trX(r.v)
		c.StrokeLine2(r.style(), x, c.Min.Y, x, c.Max.Y)
		return
	}
	y := trY(r.v)
	c.StrokeLine2(r.style(), c.Min.X, y, c.Max.X, y)
}

func (r *refLine) DataRange() (xmin, xmax, ymin, ymax float64) {
	if r.vertical {
		return r.v, r.v, math.Inf(1), math.Inf(-1)
	}
	return math.Inf(1), math.Inf(-1), r.v, r.v
}

func (r *refLine) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(r.style(), c.Min.X, y, c.Max.X, y)
}

// label is text placed at data coordinates (text, annotate).
type label struct {
	x, y  float64
	text  string
	size  float64
	color color.Color
}

func (l *label) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.TextStyle{Color: l.color, Font: font.From(sans, vg.Length(max(l.size, 6))), Handler: plot.DefaultTextHandler}
	c.FillText(sty, vg.Point{X: trX(l.x), Y: trY(l.y)}, strings.TrimSpace(l.text))
}

func (l *label) DataRange() (xmin, xmax, ymin, ymax float64) { return l.x, l.x, l.y, l.y }
