"""Changes to the packages' Python files for the sandbox, applied by build.sh as it compiles them
into the stdlib zip.

Each entry: the file (as laid out in site-packages), the exact text to replace, its replacement,
and how many times the text must occur; build.sh fails if a file is missing or a count differs,
so a new release that moves the code is noticed rather than shipped unpatched.

Why: the guest has no _ctypes (no libffi for wasm32-wasi), and pandas imports ctypes at import
time in two modules that need it only on Windows or for the dataframe interchange protocol's
raw pointers. The imports are made lazy; those two paths raise ModuleNotFoundError when used.

matplotlib reads its data (fonts, styles, matplotlibrc) as files next to its package, which is
in a zip here: the host serves the directory at /usr/share/matplotlib/mpl-data (wasm.MplDataPath)
and get_data_path names it. matplotlib wants a writable directory for its caches (outside the
workspace, the guest has none; it would make a temporary directory in the workspace and warn):
its font list is built once into the base image instead of being cached in a file, so the cache
directory it is given is read-only and nothing is written there.
"""

PATCHES = [
    ("pandas/errors/__init__.py", "\nimport ctypes\n", "\n", 1),
    ("pandas/errors/__init__.py", "({ctypes.WinError()})", "({__import__('ctypes').WinError()})", 1),
    ("pandas/core/interchange/from_dataframe.py", "\nimport ctypes\n", "\n", 1),
    ("pandas/core/interchange/from_dataframe.py", "ctypes.cast(", "__import__('ctypes').cast(", 1),
    ("pandas/core/interchange/from_dataframe.py", "ctypes.POINTER(", "__import__('ctypes').POINTER(", 1),
    ("matplotlib/__init__.py", '    return str(Path(__file__).with_name("mpl-data"))\n',
     '    return "/usr/share/matplotlib/mpl-data"  # wasmbox: served by the host\n', 1),
    ("matplotlib/__init__.py", "def _get_config_or_cache_dir(xdg_base_getter):\n",
     "def _get_config_or_cache_dir(xdg_base_getter):\n"
     "    if sys.platform == 'wasi':  # wasmbox: read-only, nothing is cached in files\n"
     "        return '/usr/share/matplotlib'\n", 1),
    ("matplotlib/font_manager.py", "    fm = FontManager()\n    json_dump(fm, fm_path)\n",
     "    fm = FontManager()\n    if sys.platform != 'wasi':  # wasmbox: kept in the base image instead\n"
     "        json_dump(fm, fm_path)\n", 1),
]


def apply(rel, source):
    """Returns source (bytes) of the file at rel with its patches applied, and how many applied."""
    n = 0
    for path, old, new, count in PATCHES:
        if path != rel:
            continue
        text = source.decode()
        found = text.count(old)
        if found != count:
            raise SystemExit(f"patches: {rel}: {old!r} occurs {found} times, want {count}")
        source = text.replace(old, new).encode()
        n += 1
    return source, n
