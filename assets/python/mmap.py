"""mmap for wasmbox's Python: WASI has no memory-mapped files, so CPython for wasm32-wasi is
built without this module. The names exist so that code which only checks types or reads the
constants works (pandas checks isinstance(handle, mmap.mmap) on every read_csv); making a map
raises OSError saying why."""

import errno

ACCESS_DEFAULT, ACCESS_READ, ACCESS_WRITE, ACCESS_COPY = 0, 1, 2, 3
PAGESIZE = ALLOCATIONGRANULARITY = 65536
error = OSError


class mmap:
    """Never instantiated: memory-mapped files are not available in the sandbox."""

    def __new__(cls, *args, **kwargs):
        raise OSError(errno.ENOSYS, "memory-mapped files are not supported in this sandbox (WASI has no mmap)")
