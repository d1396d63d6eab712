"""Recording implementation of the supported matplotlib.pyplot subset (see matplotlib.SUPPORTED)."""

import io as _io
import math as _math
import os as _os

import matplotlib as _mpl

_CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
_LETTERS = {"b": "#0000ff", "g": "#008000", "r": "#ff0000", "c": "#00bfbf", "m": "#bf00bf",
            "y": "#bfbf00", "k": "#000000", "w": "#ffffff"}
_NAMED = {"blue": "#1f77b4", "orange": "#ff7f0e", "green": "#2ca02c", "red": "#d62728",
          "purple": "#9467bd", "brown": "#8c564b", "pink": "#e377c2", "gray": "#7f7f7f",
          "grey": "#7f7f7f", "olive": "#bcbd22", "cyan": "#17becf", "black": "#000000",
          "white": "#ffffff", "yellow": "#ffff00", "magenta": "#ff00ff", "navy": "#000080",
          "teal": "#008080", "gold": "#ffd700", "skyblue": "#87ceeb", "salmon": "#fa8072",
          "lightblue": "#add8e6", "darkgreen": "#006400", "darkblue": "#00008b", "crimson": "#dc143c",
          "coral": "#ff7f50", "steelblue": "#4682b4", "lightgray": "#d3d3d3", "lightgrey": "#d3d3d3",
          "darkred": "#8b0000", "indigo": "#4b0082", "violet": "#ee82ee", "tomato": "#ff6347"}
_STYLES = {"-": "solid", "--": "dashed", "-.": "dashdot", ":": "dotted", "solid": "solid",
           "dashed": "dashed", "dashdot": "dashdot", "dotted": "dotted", "None": "none", "none": "none", "": "none"}
_MARKERS = set("o.,sx+*^v<>dDph|_") | {"None", "none", ""}


def _unsupported(what):
    raise NotImplementedError(
        "%s is not supported by wasmbox's matplotlib; supported: %s" % (what, _mpl.SUPPORTED))


def _color(c, axes=None):
    if c is None:
        return axes._next_color() if axes is not None else _CYCLE[0]
    if isinstance(c, (tuple, list)) and len(c) in (3, 4) and all(isinstance(v, (int, float)) for v in c):
        return "#%02x%02x%02x" % tuple(int(round(max(0.0, min(1.0, float(v))) * 255)) for v in c[:3])
    if not isinstance(c, str):
        _unsupported("color %r" % (c,))
    if c.startswith("#") and len(c) in (4, 7, 9):
        if len(c) == 4:
            c = "#" + "".join(ch * 2 for ch in c[1:])
        return c[:7].lower()
    if len(c) == 2 and c[0] == "C" and c[1].isdigit():
        return _CYCLE[int(c[1]) % 10]
    if c.startswith("tab:") and c[4:] in _NAMED:
        return _NAMED[c[4:]]
    if c in _LETTERS:
        return _LETTERS[c]
    if c.lower() in _NAMED:
        return _NAMED[c.lower()]
    try:
        g = float(c)
        return "#%02x%02x%02x" % ((int(g * 255),) * 3)
    except ValueError:
        _unsupported("color %r" % (c,))


def _plain(values):
    """numpy arrays and scalars, pandas Series and Index as plain Python values."""
    if hasattr(values, "tolist") and not isinstance(values, (str, bytes)):
        return values.tolist()
    return values


def _nums(values, what="values"):
    if values is None:
        return None
    values = _plain(values)
    if isinstance(values, (int, float)):
        return [float(values)]
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            try:
                v = float(v)
            except (TypeError, ValueError):
                _unsupported("non-numeric %s (%r)" % (what, v))
        out.append(float(v))
    return out


def _fmt(fmt):
    color = style = marker = None
    rest = fmt
    for s in ("--", "-.", "-", ":"):
        if s in rest:
            style = s
            rest = rest.replace(s, "", 1)
            break
    for ch in rest:
        if ch in _LETTERS:
            color = ch
        elif ch in _MARKERS:
            marker = ch
        else:
            _unsupported("format string %r" % fmt)
    if style is None and marker is not None:
        style = "None"
    return color, style, marker


class Axes:
    def __init__(self, fig, row, col):
        self.figure = fig
        self._row, self._col = row, col
        self._series = []
        self._cycle = 0
        self._title = ""
        self._xlabel = self._ylabel = ""
        self._xlim = self._ylim = None
        self._xscale = self._yscale = "linear"
        self._grid = False
        self._legend = None
        self._xticks = self._yticks = None
        self._categories = None

    def _next_color(self):
        c = _CYCLE[self._cycle % len(_CYCLE)]
        self._cycle += 1
        return c

    def plot(self, *args, **kw):
        args = list(args)
        fmt = None
        if args and isinstance(args[-1], str):
            fmt = args.pop()
        if len(args) == 1:
            y = _nums(args[0], "y")
            x = [float(i) for i in range(len(y))]
        elif len(args) == 2:
            x, y = _nums(args[0], "x"), _nums(args[1], "y")
        else:
            _unsupported("plot with %d positional arguments (use plot(x, y, fmt) once per line)" % len(args))
        if len(x) != len(y):
            raise ValueError("x and y must have same first dimension, but have shapes (%d,) and (%d,)" % (len(x), len(y)))
        fc, fs, fm = _fmt(fmt) if fmt else (None, None, None)
        color = _color(kw.pop("color", kw.pop("c", fc)), self)
        style = kw.pop("linestyle", kw.pop("ls", fs or "-"))
        marker = kw.pop("marker", fm or "")
        s = {"kind": "line", "x": x, "y": y, "color": color, "linestyle": _STYLES.get(style, "solid"),
             "linewidth": float(kw.pop("linewidth", kw.pop("lw", 1.5))), "marker": marker or "",
             "markersize": float(kw.pop("markersize", kw.pop("ms", 6))),
             "label": _label(kw.pop("label", None)), "alpha": float(kw.pop("alpha", 1) or 1)}
        _rest(kw, "plot")
        self._series.append(s)
        return [Line2D(s)]

    def scatter(self, x, y, s=None, c=None, marker="o", alpha=None, label=None, **kw):
        kw.pop("edgecolors", None)
        x, y = _nums(x, "x"), _nums(y, "y")
        color = _color(c if isinstance(c, (str, tuple)) or c is None else None, self)
        if c is not None and not isinstance(c, (str, tuple)):
            _unsupported("scatter with per-point colors (c=sequence)")
        size = s if isinstance(s, (int, float)) else 20.0
        if s is not None and not isinstance(s, (int, float)):
            _unsupported("scatter with per-point sizes (s=sequence)")
        _rest(kw, "scatter")
        self._series.append({"kind": "scatter", "x": x, "y": y, "size": float(size), "color": color,
                             "marker": marker, "alpha": float(alpha or 1), "label": _label(label)})

    def _bar(self, x, h, width, color, label, horizontal, kw):
        x = _plain(x)
        if isinstance(x, (str, int, float)):
            x = [x]
        x = list(x)
        h = _nums(h, "heights")
        if len(h) == 1 and len(x) > 1:
            h = h * len(x)
        if any(isinstance(v, str) for v in x):
            if self._categories is None:
                self._categories = []
            pos = []
            for v in x:
                v = str(v)
                if v not in self._categories:
                    self._categories.append(v)
                pos.append(float(self._categories.index(v)))
            x = pos
        else:
            x = _nums(x, "positions")
        bottom = kw.pop("bottom", kw.pop("left", None))
        kw.pop("edgecolor", None)
        kw.pop("align", None)
        if isinstance(color, (list, tuple)) and color and isinstance(color[0], str):
            colors = [_color(c) for c in color]
        else:
            colors = [_color(color, self)] * len(x)
        _rest(kw, "barh" if horizontal else "bar")
        self._series.append({"kind": "bar", "x": x, "height": h, "width": float(width), "colors": colors,
                             "bottom": _nums(bottom) if bottom is not None else None,
                             "horizontal": horizontal, "label": _label(label), "alpha": float(kw.get("alpha", 1) or 1)})

    def bar(self, x, height, width=0.8, color=None, label=None, **kw):
        self._bar(x, height, width, color, label, False, kw)

    def barh(self, y, width, height=0.8, color=None, label=None, **kw):
        self._bar(y, width, height, color, label, True, kw)

    def hist(self, x, bins=10, range=None, density=False, color=None, alpha=None, label=None, **kw):
        kw.pop("edgecolor", None)
        kw.pop("histtype", None)
        values = _nums(x, "values")
        if not values:
            raise ValueError("hist needs at least one value")
        if isinstance(bins, int):
            lo, hi = (float(range[0]), float(range[1])) if range else (min(values), max(values))
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            edges = [lo + (hi - lo) * i / bins for i in _range(bins + 1)]
        else:
            edges = _nums(bins, "bins")
        counts = [0.0] * (len(edges) - 1)
        for v in values:
            if v < edges[0] or v > edges[-1]:
                continue
            for i in _range(len(counts)):
                if v < edges[i + 1] or (i == len(counts) - 1 and v == edges[-1]):
                    counts[i] += 1
                    break
        if density:
            total = sum(counts)
            counts = [c / (total * (edges[i + 1] - edges[i])) if total else 0 for i, c in enumerate(counts)]
        _rest(kw, "hist")
        self._series.append({"kind": "hist", "edges": edges, "counts": counts, "color": _color(color, self),
                             "alpha": float(alpha or 1), "label": _label(label)})
        return counts, edges, None

    def fill_between(self, x, y1, y2=0, color=None, alpha=None, label=None, **kw):
        x = _nums(x, "x")
        y1 = _nums(y1, "y1")
        y2 = _nums(y2, "y2")
        if len(y1) == 1:
            y1 = y1 * len(x)
        if len(y2) == 1:
            y2 = y2 * len(x)
        _rest(kw, "fill_between")
        self._series.append({"kind": "fill", "x": x, "y1": y1, "y2": y2, "color": _color(color, self),
                             "alpha": float(alpha if alpha is not None else 0.5), "label": _label(label)})

    def errorbar(self, x, y, yerr=None, xerr=None, fmt="", color=None, label=None, capsize=None, **kw):
        x, y = _nums(x, "x"), _nums(y, "y")
        fc, fs, fm = _fmt(fmt) if fmt else (None, None, None)
        c = _color(color or fc, self)
        def err(e):
            if e is None:
                return None
            e = _nums(e, "errors")
            return e * len(x) if len(e) == 1 else e
        _rest(kw, "errorbar")
        self._series.append({"kind": "errorbar", "x": x, "y": y, "yerr": err(yerr), "xerr": err(xerr),
                             "color": c, "linestyle": _STYLES.get(fs or ("None" if fm else "-"), "solid"),
                             "marker": fm or "", "label": _label(label)})

    def axhline(self, y=0, color=None, linestyle="-", linewidth=1.0, label=None, **kw):
        kw.pop("xmin", None); kw.pop("xmax", None); kw.pop("alpha", None)
        _rest(kw, "axhline")
        self._series.append({"kind": "hline", "y": [float(y)], "color": _color(color or "k"),
                             "linestyle": _STYLES.get(kw.get("ls", linestyle), "solid"), "linewidth": float(linewidth), "label": _label(label)})

    def axvline(self, x=0, color=None, linestyle="-", linewidth=1.0, label=None, **kw):
        kw.pop("ymin", None); kw.pop("ymax", None); kw.pop("alpha", None)
        _rest(kw, "axvline")
        self._series.append({"kind": "vline", "x": [float(x)], "color": _color(color or "k"),
                             "linestyle": _STYLES.get(kw.get("ls", linestyle), "solid"), "linewidth": float(linewidth), "label": _label(label)})

    def text(self, x, y, s, fontsize=None, color=None, **kw):
        for k in ("ha", "va", "horizontalalignment", "verticalalignment", "fontweight", "transform", "rotation"):
            kw.pop(k, None)
        _rest(kw, "text")
        self._series.append({"kind": "text", "x": [float(x)], "y": [float(y)], "text": str(s),
                             "fontsize": float(fontsize or 10), "color": _color(color or "k")})

    def annotate(self, text, xy, xytext=None, **kw):
        kw.pop("arrowprops", None)
        for k in ("ha", "va", "fontsize", "textcoords", "xycoords"):
            kw.pop(k, None)
        x, y = xytext if xytext is not None else xy
        self._series.append({"kind": "text", "x": [float(x)], "y": [float(y)], "text": str(text), "fontsize": 10.0, "color": "#000000"})

    def set_title(self, s, **kw):
        self._title = str(s)

    def set_xlabel(self, s, **kw):
        self._xlabel = str(s)

    def set_ylabel(self, s, **kw):
        self._ylabel = str(s)

    def set_xlim(self, left=None, right=None, **kw):
        if isinstance(left, (tuple, list)):
            left, right = left
        self._xlim = [None if left is None else float(left), None if right is None else float(right)]

    def set_ylim(self, bottom=None, top=None, **kw):
        if isinstance(bottom, (tuple, list)):
            bottom, top = bottom
        self._ylim = [None if bottom is None else float(bottom), None if top is None else float(top)]

    def set_xscale(self, scale, **kw):
        if scale not in ("linear", "log"):
            _unsupported("xscale %r" % scale)
        self._xscale = scale

    def set_yscale(self, scale, **kw):
        if scale not in ("linear", "log"):
            _unsupported("yscale %r" % scale)
        self._yscale = scale

    def set_xticks(self, ticks, labels=None, **kw):
        self._xticks = {"ticks": _nums(ticks, "ticks"), "labels": [str(l) for l in labels] if labels is not None else None}

    def set_yticks(self, ticks, labels=None, **kw):
        self._yticks = {"ticks": _nums(ticks, "ticks"), "labels": [str(l) for l in labels] if labels is not None else None}

    def set_xticklabels(self, labels, **kw):
        if self._xticks is None:
            self._xticks = {"ticks": [float(i) for i in _range(len(labels))], "labels": None}
        self._xticks["labels"] = [str(l) for l in labels]

    def set_yticklabels(self, labels, **kw):
        if self._yticks is None:
            self._yticks = {"ticks": [float(i) for i in _range(len(labels))], "labels": None}
        self._yticks["labels"] = [str(l) for l in labels]

    def legend(self, *args, loc=None, **kw):
        if args:
            labels = args[-1]
            named = [s for s in self._series if s["kind"] not in ("text",)]
            for s, l in zip(named, labels):
                s["label"] = str(l)
        self._legend = str(loc or "best")

    def grid(self, visible=True, *args, **kw):
        self._grid = bool(visible) if visible is not None else True

    def get_xlim(self):
        return tuple(self._xlim or (0.0, 1.0))

    def get_ylim(self):
        return tuple(self._ylim or (0.0, 1.0))

    def tick_params(self, *args, **kw):
        pass

    def set_aspect(self, *args, **kw):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        _unsupported("Axes.%s" % name)

    def _spec(self):
        return {"row": self._row, "col": self._col, "title": self._title, "xlabel": self._xlabel,
                "ylabel": self._ylabel, "xlim": self._xlim, "ylim": self._ylim, "xscale": self._xscale,
                "yscale": self._yscale, "grid": self._grid, "legend": self._legend,
                "xticks": self._xticks, "yticks": self._yticks, "categories": self._categories,
                "series": self._series}


class Line2D:
    def __init__(self, spec):
        self._spec = spec

    def set_label(self, label):
        self._spec["label"] = str(label)

    def set_color(self, c):
        self._spec["color"] = _color(c)


def _label(label):
    if label is None or str(label).startswith("_"):
        return ""
    return str(label)


def _rest(kw, fn):
    kw.pop("zorder", None)
    kw.pop("rasterized", None)
    if kw:
        _unsupported("%s(%s=...)" % (fn, sorted(kw)[0]))


_range = range


class Figure:
    def __init__(self, figsize=None, dpi=None, nrows=1, ncols=1):
        w, h = figsize or _mpl.rcParams["figure.figsize"]
        self._size = (float(w), float(h))
        self._dpi = float(dpi or _mpl.rcParams["figure.dpi"])
        self._rows, self._cols = nrows, ncols
        self._axes = []
        self._suptitle = ""
        self._shown = False
        self.number = 0

    def add_subplot(self, *args, **kw):
        if not args or args == (1, 1, 1) or args == (111,):
            if self._axes:
                return self._axes[0]
            ax = Axes(self, 0, 0)
            self._axes.append(ax)
            return ax
        _unsupported("add_subplot%r (use plt.subplots(nrows, ncols))" % (args,))

    def gca(self):
        return self.add_subplot()

    @property
    def axes(self):
        return list(self._axes)

    def suptitle(self, s, **kw):
        self._suptitle = str(s)

    def tight_layout(self, *args, **kw):
        pass

    def set_size_inches(self, w, h=None, **kw):
        if isinstance(w, (tuple, list)):
            w, h = w
        self._size = (float(w), float(h))

    def savefig(self, fname, dpi=None, format=None, **kw):
        for k in ("bbox_inches", "pad_inches", "transparent", "facecolor", "edgecolor", "metadata"):
            kw.pop(k, None)
        _rest(kw, "savefig")
        fmt = (format or (_os.path.splitext(fname)[1][1:] if isinstance(fname, str) else "png") or "png").lower()
        if fmt != "png":
            _unsupported("savefig format %r (only png)" % fmt)
        png = _host_render(self._spec(dpi))
        if isinstance(fname, (str, bytes, _os.PathLike)):
            with open(fname, "wb") as f:
                f.write(png)
        else:
            fname.write(png)

    def show(self):
        _host_display(self._spec(None))
        self._shown = True

    def clf(self):
        self._axes = []
        self._suptitle = ""

    def _spec(self, dpi):
        if not self._axes:
            self.add_subplot()
        return {"width": self._size[0], "height": self._size[1], "dpi": float(dpi or self._dpi),
                "rows": self._rows, "cols": self._cols, "suptitle": self._suptitle,
                "axes": [a._spec() for a in self._axes]}


# The host side: set by wasmbox's driver.
_render_hook = None
_display_hook = None


def _host_render(spec):
    if _render_hook is None:
        raise RuntimeError("wasmbox's renderer is not available")
    return _render_hook(spec)


def _host_display(spec):
    if _display_hook is not None:
        _display_hook(spec)


_figures = []
_current = None


def figure(num=None, figsize=None, dpi=None, **kw):
    global _current
    kw.pop("facecolor", None)
    kw.pop("layout", None)
    kw.pop("constrained_layout", None)
    _rest(kw, "figure")
    fig = Figure(figsize, dpi)
    fig.number = len(_figures) + 1
    _figures.append(fig)
    _current = fig
    return fig


def subplots(nrows=1, ncols=1, figsize=None, dpi=None, sharex=False, sharey=False, squeeze=True, **kw):
    global _current
    kw.pop("constrained_layout", None)
    kw.pop("layout", None)
    kw.pop("gridspec_kw", None)
    _rest(kw, "subplots")
    fig = Figure(figsize, dpi, nrows, ncols)
    fig.number = len(_figures) + 1
    _figures.append(fig)
    _current = fig
    grid = []
    for r in _range(nrows):
        row = []
        for c in _range(ncols):
            ax = Axes(fig, r, c)
            fig._axes.append(ax)
            row.append(ax)
        grid.append(row)
    if squeeze and nrows == 1 and ncols == 1:
        return fig, grid[0][0]
    if squeeze and (nrows == 1 or ncols == 1):
        return fig, _AxesArray([ax for row in grid for ax in row])
    return fig, _AxesArray([_AxesArray(row) for row in grid])


class _AxesArray(list):
    """Enough of a numpy array of Axes: axs[0, 1], axs[1][0], axs.flat, axs.flatten(), axs.ravel()."""

    def __getitem__(self, i):
        if isinstance(i, tuple):
            r, c = i
            return list.__getitem__(self, r)[c]
        return list.__getitem__(self, i)

    @property
    def flat(self):
        out = []
        for x in self:
            out.extend(x if isinstance(x, _AxesArray) else [x])
        return out

    def flatten(self):
        return self.flat

    def ravel(self):
        return self.flat


def gcf():
    return _current if _current is not None else figure()


def gca():
    return gcf().gca()


def clf():
    gcf().clf()


def close(fig=None):
    global _current
    if fig is None or fig == "all":
        if fig == "all":
            _figures.clear()
        elif _current in _figures:
            _figures.remove(_current)
    elif fig in _figures:
        _figures.remove(fig)
    _current = _figures[-1] if _figures else None


def show(*args, **kw):
    for fig in list(_figures):
        fig.show()
    close("all")


def savefig(*args, **kw):
    gcf().savefig(*args, **kw)


def _collect_open():
    """Called by the driver after each run: shows figures still open, then forgets them all,
    also when one cannot be shown (the next cell must not trip over it again)."""
    try:
        for fig in list(_figures):
            if fig._axes and not fig._shown:
                fig.show()
    finally:
        close("all")


def _delegate(name):
    def f(*args, **kw):
        return getattr(gca(), name)(*args, **kw)
    f.__name__ = name
    return f


for _n in ("plot", "scatter", "bar", "barh", "hist", "fill_between", "errorbar", "axhline", "axvline",
           "text", "annotate", "legend", "grid"):
    globals()[_n] = _delegate(_n)


def title(s, **kw):
    gca().set_title(s)


def xlabel(s, **kw):
    gca().set_xlabel(s)


def ylabel(s, **kw):
    gca().set_ylabel(s)


def xlim(*args, **kw):
    if args or kw:
        gca().set_xlim(*args, **kw)
    return gca().get_xlim()


def ylim(*args, **kw):
    if args or kw:
        gca().set_ylim(*args, **kw)
    return gca().get_ylim()


def xscale(s, **kw):
    gca().set_xscale(s)


def yscale(s, **kw):
    gca().set_yscale(s)


def xticks(ticks=None, labels=None, **kw):
    if ticks is not None:
        gca().set_xticks(ticks, labels)


def yticks(ticks=None, labels=None, **kw):
    if ticks is not None:
        gca().set_yticks(ticks, labels)


def suptitle(s, **kw):
    gcf().suptitle(s)


def tight_layout(*args, **kw):
    pass


def subplot(*args, **kw):
    if args in ((1, 1, 1), (111,)) or not args:
        return gca()
    _unsupported("subplot%r (use plt.subplots(nrows, ncols))" % (args,))


def __getattr__(name):
    _unsupported("matplotlib.pyplot.%s" % name)
