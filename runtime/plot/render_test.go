package plot

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata/")

func f(v float64) *float64 { return &v }

func seq(n int, fn func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = fn(i)
	}
	return out
}

func xs(n int) []float64 { return seq(n, func(i int) float64 { return float64(i) * 0.2 }) }

// goldenFigures are the figures whose rendering is pinned by testdata/<name>.png.
var goldenFigures = map[string]Figure{
	"line": {Width: 6.4, Height: 4.8, DPI: 60, Rows: 1, Cols: 1, Axes: []Axes{{
		Title: "Line", XLabel: "x", YLabel: "sin(x)", Grid: true,
		Series: []Series{{Kind: "line", X: xs(50), Y: seq(50, func(i int) float64 { return math.Sin(float64(i) * 0.2) }), Color: "#1f77b4", LineStyle: "solid", LineWidth: 1.5}},
	}}},
	"scatter": {Width: 6.4, Height: 4.8, DPI: 60, Rows: 1, Cols: 1, Axes: []Axes{{
		Title:  "Scatter",
		Series: []Series{{Kind: "scatter", X: seq(30, func(i int) float64 { return float64(i % 7) }), Y: seq(30, func(i int) float64 { return float64((i * 13) % 11) }), Color: "#ff7f0e", Size: 20, Marker: "o", Alpha: 0.8}},
	}}},
	"bar": {Width: 6.4, Height: 4.8, DPI: 60, Rows: 1, Cols: 1, Axes: []Axes{{
		Title: "Bar", Categories: []string{"A", "B", "C", "D"},
		Series: []Series{{Kind: "bar", X: []float64{0, 1, 2, 3}, Height: []float64{3, 7, 2, 5}, Width: 0.8, Colors: []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"}}},
	}}},
	"hist": {Width: 6.4, Height: 4.8, DPI: 60, Rows: 1, Cols: 1, Axes: []Axes{{
		Title:  "Histogram",
		Series: []Series{{Kind: "hist", Edges: seq(11, func(i int) float64 { return float64(i) }), Counts: []float64{1, 3, 7, 12, 18, 17, 11, 6, 2, 1}, Color: "#2ca02c"}},
	}}},
	"log_legend": {Width: 6.4, Height: 4.8, DPI: 60, Rows: 1, Cols: 1, Axes: []Axes{{
		Title: "Log scale", YScale: "log", Legend: new(string), XLim: []*float64{f(0), f(10)},
		Series: []Series{
			{Kind: "line", X: seq(10, func(i int) float64 { return float64(i + 1) }), Y: seq(10, func(i int) float64 { return math.Pow(2, float64(i)) }), Color: "#1f77b4", LineStyle: "solid", LineWidth: 1.5, Label: "2^x", Marker: "o", MarkerSize: 4},
			{Kind: "line", X: seq(10, func(i int) float64 { return float64(i + 1) }), Y: seq(10, func(i int) float64 { return float64((i + 1) * (i + 1)) }), Color: "#d62728", LineStyle: "dashed", LineWidth: 1.5, Label: "x^2"},
			{Kind: "hline", Y: []float64{100}, Color: "#7f7f7f", LineStyle: "dotted", LineWidth: 1},
		},
	}}},
	"subplots_2x2": {Width: 8, Height: 6, DPI: 50, Rows: 2, Cols: 2, Suptitle: "Four plots", Axes: []Axes{
		{Row: 0, Col: 0, Title: "line", Series: []Series{{Kind: "line", X: xs(30), Y: seq(30, func(i int) float64 { return math.Cos(float64(i) * 0.2) }), Color: "#1f77b4", LineStyle: "solid", LineWidth: 1.5}}},
		{Row: 0, Col: 1, Title: "scatter", Series: []Series{{Kind: "scatter", X: seq(20, func(i int) float64 { return float64(i) }), Y: seq(20, func(i int) float64 { return float64((i * 7) % 5) }), Color: "#9467bd", Size: 16}}},
		{Row: 1, Col: 0, Title: "bar", Categories: []string{"x", "y"}, Series: []Series{{Kind: "bar", X: []float64{0, 1}, Height: []float64{2, 4}, Width: 0.8, Colors: []string{"#8c564b", "#8c564b"}}}},
		{Row: 1, Col: 1, Title: "fill", Series: []Series{{Kind: "fill", X: xs(20), Y1: seq(20, func(i int) float64 { return float64(i) }), Y2: seq(20, func(i int) float64 { return float64(i) / 2 }), Color: "#17becf", Alpha: 0.4}}},
	}},
}

// TestRender_golden compares renderings with reviewed PNGs, allowing small differences
// (anti-aliasing, font rasterization): at most 0.5% of pixels may differ by more than 48 in
// any channel.
func TestRender_golden(t *testing.T) {
	for name, fig := range goldenFigures {
		t.Run(name, func(t *testing.T) {
			got, err := Render(fig)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".png")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it, then look at it)", err)
			}
			if frac := diff(t, got, want); frac > 0.005 {
				os.WriteFile(filepath.Join(t.TempDir(), name+".png"), got, 0o644)
				t.Errorf("%.2f%% of pixels differ from %s", frac*100, path)
			}
		})
	}
}

func diff(t *testing.T, a, b []byte) float64 {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("size %v, want %v", ia.Bounds(), ib.Bounds())
	}
	var bad, total int
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			total++
			if far(ia, ib, x, y) {
				bad++
			}
		}
	}
	return float64(bad) / float64(total)
}

func far(a, b image.Image, x, y int) bool {
	r1, g1, b1, _ := a.At(x, y).RGBA()
	r2, g2, b2, _ := b.At(x, y).RGBA()
	d := func(p, q uint32) bool { return math.Abs(float64(p>>8)-float64(q>>8)) > 48 }
	return d(r1, r2) || d(g1, g2) || d(b1, b2)
}

func TestRender_limits(t *testing.T) {
	if _, err := Render(Figure{Width: 100, Height: 100, DPI: 300}); err == nil {
		t.Error("a 30000x30000 figure was rendered")
	}
	if _, err := Render(Figure{Rows: 100, Cols: 100}); err == nil {
		t.Error("10000 subplots were accepted")
	}
	if _, err := Render(Figure{Axes: []Axes{{Series: []Series{{Kind: "pie"}}}}}); err == nil {
		t.Error("an unknown series kind was accepted")
	}
	if _, err := Render(Figure{Axes: []Axes{{Series: []Series{{Kind: "line", X: []float64{1, 2}, Y: []float64{1}}}}}}); err == nil {
		t.Error("x and y of different lengths were accepted")
	}
}

// TestRender_hostile: what matplotlib refuses is an ErrInvalid, never a panic.
func TestRender_hostile(t *testing.T) {
	line := func(x, y []float64) []Axes {
		return []Axes{{Series: []Series{{Kind: "line", X: x, Y: y, LineWidth: 1.5}}}}
	}
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		fig  Figure
	}{
		{"tiny dpi", Figure{DPI: 0.001, Axes: line([]float64{1, 2}, []float64{1, 2})}},
		{"negative dpi", Figure{DPI: -5, Axes: line([]float64{1, 2}, []float64{1, 2})}},
		{"NaN dpi", Figure{DPI: nan, Axes: line([]float64{1, 2}, []float64{1, 2})}},
		{"infinite size", Figure{Width: inf, Height: 3, Axes: line([]float64{1, 2}, []float64{1, 2})}},
		{"negative size", Figure{Width: -1, Height: 3, Axes: line([]float64{1, 2}, []float64{1, 2})}},
		{"log y with zero", Figure{Axes: []Axes{{YScale: "log", Series: []Series{{Kind: "line", X: []float64{1, 2, 3}, Y: []float64{-1, 0, 5}}}}}}},
		{"log x with negative", Figure{Axes: []Axes{{XScale: "log", Series: []Series{{Kind: "scatter", X: []float64{-1, 2}, Y: []float64{1, 2}}}}}}},
		{"huge fontsize", Figure{Axes: []Axes{{Series: []Series{{Kind: "text", X: []float64{1}, Y: []float64{1}, Text: "x", FontSize: 1e308}}}}}},
		{"NaN fontsize", Figure{Axes: []Axes{{Series: []Series{{Kind: "text", X: []float64{1}, Y: []float64{1}, Text: "x", FontSize: nan}}}}}},
		{"huge line width", Figure{Axes: []Axes{{Series: []Series{{Kind: "line", X: []float64{1, 2}, Y: []float64{1, 2}, LineWidth: 1e308}}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.fig)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
}
