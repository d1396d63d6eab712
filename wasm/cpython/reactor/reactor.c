/* wasmbox's entry into CPython built as a WASI reactor (-mexec-model=reactor).
 *
 * The host calls wasmbox_init once (after wasi-libc's _initialize): it starts the interpreter
 * and imports the driver (wasmbox_driver.py), which keeps the session's namespace. Then, for
 * each request, the host writes it into a buffer from wasmbox_alloc and calls wasmbox_exec,
 * which runs it to the end and returns: no wasm frame stays on the stack between requests, so
 * an interpreter at rest is its linear memory alone (and the __stack_pointer global, which is
 * back at its initial value). A run is over when wasmbox_exec returns; guest code cannot fake
 * that.
 *
 * In the middle of a request the driver asks the host for services (rendering a figure)
 * through the built-in module _wasmbox, which calls the imported functions wasmbox.call and
 * wasmbox.reply.
 */
#define PY_SSIZE_T_CLEAN
#include "Python.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("wasmbox"), import_name("call")))
extern int32_t wasmbox_host_call(const char *msg, int32_t len);

__attribute__((import_module("wasmbox"), import_name("reply")))
extern void wasmbox_host_reply(char *buf);

static PyObject *handle; /* wasmbox_driver.handle(bytes) -> bytes */
static char *out;        /* the last response, owned here until the next exec */

/* _wasmbox.call(msg: bytes) -> bytes: one service request to the host. */
static PyObject *
call(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (view.len > INT32_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "message too large");
        return NULL;
    }
    int32_t n = wasmbox_host_call(view.buf, (int32_t)view.len);
    PyBuffer_Release(&view);
    if (n < 0) {
        PyErr_SetString(PyExc_RuntimeError, "the wasmbox host refused the request");
        return NULL;
    }
    PyObject *reply = PyBytes_FromStringAndSize(NULL, n);
    if (reply == NULL) {
        return NULL;
    }
    wasmbox_host_reply(PyBytes_AS_STRING(reply));
    return reply;
}

static PyMethodDef methods[] = {
    {"call", call, METH_O, "Send one service request to the host and return its reply."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_wasmbox", NULL, -1, methods};

static PyObject *
init_module(void)
{
    return PyModule_Create(&module);
}

/* wasmbox_init starts CPython as `python -S -s -P` would, with the environment the host gave
 * (PYTHONHOME, PYTHONUTF8, ...), and imports the driver. It returns 0, or 1 after printing why
 * to stderr. */
__attribute__((export_name("wasmbox_init"))) int32_t
wasmbox_init(void)
{
    if (PyImport_AppendInittab("_wasmbox", init_module) < 0) {
        return 1;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.site_import = 0;
    config.user_site_directory = 0;
    config.safe_path = 1;
    config.install_signal_handlers = 0;
    config.parse_argv = 0;
    PyStatus status = PyConfig_SetString(&config, &config.program_name, L"python");
    if (!PyStatus_Exception(status)) {
        status = Py_InitializeFromConfig(&config);
    }
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
        return 1;
    }
    PyObject *sys_path = PySys_GetObject("path");
    PyObject *dir = PyUnicode_FromString("/usr/lib/wasmbox");
    if (sys_path == NULL || dir == NULL || PyList_Insert(sys_path, 0, dir) < 0) {
        PyErr_Print();
        return 1;
    }
    Py_DECREF(dir);
    PyObject *driver = PyImport_ImportModule("wasmbox_driver");
    if (driver == NULL) {
        PyErr_Print();
        return 1;
    }
    handle = PyObject_GetAttrString(driver, "handle");
    Py_DECREF(driver);
    if (handle == NULL) {
        PyErr_Print();
        return 1;
    }
    return 0;
}

/* wasmbox_alloc returns a buffer of n bytes for the host to write a request into; wasmbox_exec
 * frees it. */
__attribute__((export_name("wasmbox_alloc"))) char *
wasmbox_alloc(int32_t n)
{
    return malloc(n > 0 ? (size_t)n : 1);
}

/* wasmbox_exec runs one request (JSON) and returns its response as (pointer << 32) | length;
 * the response stays valid until the next call. 0 means the driver failed (printed to stderr). */
__attribute__((export_name("wasmbox_exec"))) int64_t
wasmbox_exec(char *req, int32_t n)
{
    free(out);
    out = NULL;
    PyObject *arg = PyBytes_FromStringAndSize(req, n);
    free(req);
    if (arg == NULL) {
        PyErr_Print();
        return 0;
    }
    PyObject *res = PyObject_CallOneArg(handle, arg);
    Py_DECREF(arg);
    if (res == NULL || !PyBytes_Check(res)) {
        PyErr_Print();
        Py_XDECREF(res);
        return 0;
    }
    Py_ssize_t len = PyBytes_GET_SIZE(res);
    out = malloc(len > 0 ? (size_t)len : 1);
    if (out == NULL) {
        Py_DECREF(res);
        return 0;
    }
    memcpy(out, PyBytes_AS_STRING(res), (size_t)len);
    Py_DECREF(res);
    return ((int64_t)(uintptr_t)out << 32) | (int64_t)(uint32_t)len;
}
