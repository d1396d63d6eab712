"""wasmbox's matplotlib: a pure-Python subset of matplotlib.pyplot that records figures.

It draws nothing itself. When a figure is shown, saved, or left open at the end of a run,
wasmbox renders it on the host (with gonum/plot) and returns it as a PNG image. The supported
API is listed in SUPPORTED; anything else raises NotImplementedError naming it.
"""

__version__ = "3.8.0-wasmbox"

SUPPORTED = (
    "figure(figsize, dpi), subplots(nrows, ncols, figsize, sharex, sharey), plot, scatter, bar, barh, "
    "hist, fill_between, errorbar, axhline, axvline, text, annotate (text only), title/set_title, "
    "xlabel/ylabel/set_xlabel/set_ylabel, legend, grid, xlim/ylim/set_xlim/set_ylim, "
    "xscale/yscale ('linear', 'log'), xticks/yticks (with labels), suptitle, tight_layout, "
    "savefig(path or file object, dpi, format='png'), show, close, gcf, gca, clf, matplotlib.use('Agg')"
)

rcParams = {"figure.figsize": [6.4, 4.8], "figure.dpi": 100}


def use(backend, *args, **kwargs):
    """Accepted for compatibility: wasmbox always renders PNG images."""


def get_backend():
    return "agg"


def __getattr__(name):
    raise NotImplementedError(
        "matplotlib.%s is not available in wasmbox's matplotlib; supported: %s" % (name, SUPPORTED))
