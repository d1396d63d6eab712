/* Casts fncasts_test.go compiles with -Wcast-function-type-strict for fncasts.py to judge. The
   comment at the end of each line says what fncasts.py must make of it. */
#define METH_VARARGS 0x1
#define METH_KEYWORDS 0x2
#define METH_NOARGS 0x4
#define METH_O 0x8
#define METH_FASTCALL 0x80
typedef struct _object PyObject;
typedef long Py_ssize_t;
typedef PyObject *(*PyCFunction)(PyObject *, PyObject *);
typedef PyObject *(*PyCFunctionFastWithKeywords)(PyObject *, PyObject *const *, Py_ssize_t, PyObject *);
typedef PyObject *(*getter)(PyObject *, void *);
typedef int (*setter)(PyObject *, PyObject *, void *);
typedef struct { const char *name; PyCFunction meth; int flags; const char *doc; } PyMethodDef;
typedef struct { const char *name; getter get; setter set; } PyGetSetDef;

static PyObject *noargs_short(PyObject *self) { return self; }
static PyObject *noargs_ok(PyObject *self, PyObject *unused) { return self; }
static PyObject *kw_ok(PyObject *self, PyObject *args, PyObject *kw) { return self; }
static PyObject *varargs_long(PyObject *self, PyObject *args, PyObject *kw) { return self; }
static PyObject *fast_ok(PyObject *self, PyObject *const *args, Py_ssize_t n, PyObject *kw) { return self; }
static PyObject *get_short(PyObject *self) { return self; }
static int set_short(PyObject *self, PyObject *value) { return 0; }
static void stored_elsewhere(PyObject *self) { }

PyMethodDef methods[] = {
    {"a", (PyCFunction)noargs_short, METH_NOARGS, 0},                     /* trap */
    {"b", (PyCFunction)noargs_ok, METH_NOARGS, 0},                        /* fine */
    {"c", (PyCFunction)kw_ok, METH_VARARGS | METH_KEYWORDS, 0},           /* fine */
    {"d", (PyCFunction)varargs_long,                                      /* trap */
        METH_VARARGS, 0},
    {"e", (PyCFunction)(void (*)(void))fast_ok, METH_FASTCALL | METH_KEYWORDS, 0}, /* fine */
    {"f", (PyCFunction)(void (*)(void))noargs_short, METH_O, 0},          /* trap */
};
PyGetSetDef getset[] = {
    {"g", (getter)get_short, (setter)set_short},                          /* two traps */
};
getter allowed = (getter)stored_elsewhere;                                /* allowed */

PyObject *call(PyCFunction meth, PyObject *self) {
    return ((PyCFunctionFastWithKeywords)(void (*)(void))meth)(self, 0, 0, 0); /* stored pointer */
}
