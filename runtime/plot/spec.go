// Package plot renders the figures wasmbox's guest-side matplotlib records: a JSON description
// of axes and series, drawn with gonum.org/v1/plot into a PNG.
package plot

// Figure is one matplotlib figure as the guest describes it.
type Figure struct {
	Width    float64 `json:"width"`  // inches
	Height   float64 `json:"height"` // inches
	DPI      float64 `json:"dpi"`
	Rows     int     `json:"rows"`
	Cols     int     `json:"cols"`
	Suptitle string  `json:"suptitle"`
	Axes     []Axes  `json:"axes"`
}

// Axes is one subplot.
type Axes struct {
	Row        int        `json:"row"`
	Col        int        `json:"col"`
	Title      string     `json:"title"`
	XLabel     string     `json:"xlabel"`
	YLabel     string     `json:"ylabel"`
	XLim       []*float64 `json:"xlim"`
	YLim       []*float64 `json:"ylim"`
	XScale     string     `json:"xscale"`
	YScale     string     `json:"yscale"`
	Grid       bool       `json:"grid"`
	Legend     *string    `json:"legend"`
	XTicks     *Ticks     `json:"xticks"`
	YTicks     *Ticks     `json:"yticks"`
	Categories []string   `json:"categories"`
	Series     []Series   `json:"series"`
}

// Ticks are explicit tick positions, with optional labels.
type Ticks struct {
	Ticks  []float64 `json:"ticks"`
	Labels []string  `json:"labels"`
}

// Series is one thing drawn in an axes; Kind says which fields apply.
type Series struct {
	Kind       string    `json:"kind"` // line, scatter, bar, hist, fill, errorbar, hline, vline, text
	X          []float64 `json:"x"`
	Y          []float64 `json:"y"`
	Color      string    `json:"color"`
	Colors     []string  `json:"colors"`
	LineStyle  string    `json:"linestyle"`
	LineWidth  float64   `json:"linewidth"`
	Marker     string    `json:"marker"`
	MarkerSize float64   `json:"markersize"`
	Size       float64   `json:"size"`
	Label      string    `json:"label"`
	Alpha      float64   `json:"alpha"`
	Height     []float64 `json:"height"`
	Width      float64   `json:"width"`
	Bottom     []float64 `json:"bottom"`
	Horizontal bool      `json:"horizontal"`
	Edges      []float64 `json:"edges"`
	Counts     []float64 `json:"counts"`
	Y1         []float64 `json:"y1"`
	Y2         []float64 `json:"y2"`
	YErr       []float64 `json:"yerr"`
	XErr       []float64 `json:"xerr"`
	Text       string    `json:"text"`
	FontSize   float64   `json:"fontsize"`
}
