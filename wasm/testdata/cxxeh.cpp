// C++ exceptions through wasmbox's runtime (cpython/reactor/cxxeh.cpp and cxxeh.go): each
// export returns what it observed, and the Go test checks it against what C++ promises.
#include <exception>
#include <stdexcept>
#include <string.h>

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))

static int live;      // Tracked objects alive
static int destroyed; // Tracked destructors run

struct Tracked {
    int v;
    explicit Tracked(int v) : v(v) { live++; }
    Tracked(const Tracked &o) : v(o.v) { live++; }
    ~Tracked() {
        live--;
        destroyed++;
    }
};

EXPORT(live) int live_objects() { return live; }
EXPORT(destroyed) int destroyed_objects() { return destroyed; }

__attribute__((noinline)) static int may_throw(int x) {
    if (x > 3) {
        throw std::runtime_error("too big");
    }
    return x * 10;
}

// A value when nothing is thrown, the message's length when a std::exception is caught.
EXPORT(by_type) int by_type(int x) {
    Tracked guard(x);
    try {
        return may_throw(x);
    } catch (const std::invalid_argument &) {
        return -100;
    } catch (const std::exception &e) {
        return strcmp(e.what(), "too big") == 0 ? -1 : -2;
    } catch (...) {
        return -3;
    }
}

struct A {
    int a = 1;
    virtual ~A() {}
};
struct B {
    int b = 2;
    virtual ~B() {}
};
struct C : A, B {
    int c = 3;
};

// A catch by a second base sees that base (the pointer adjusted), by reference and by pointer.
EXPORT(second_base) int second_base() {
    int r = 0;
    try {
        throw C();
    } catch (B &b) {
        r += b.b; // 2
    }
    C *owned = new C();
    try {
        throw owned;
    } catch (B *b) {
        r += 10 * b->b; // 20
    }
    delete owned;
    try {
        throw 42;
    } catch (long) {
        r += 1000;
    } catch (int v) {
        r += 100 * v; // 4200
    }
    return r; // 4222
}

__attribute__((noinline)) static void unwind_through(int depth) {
    Tracked t(depth);
    if (depth == 0) {
        throw Tracked(-1);
    }
    unwind_through(depth - 1);
    t.v++; // keeps t alive across the call
}

// Destructors run in every frame the exception leaves, and the exception object once.
EXPORT(cleanups) int cleanups(int depth) {
    destroyed = 0;
    try {
        unwind_through(depth);
    } catch (const Tracked &e) {
        return e.v == -1 ? destroyed : -1;
    }
    return -2;
}

// A rethrown exception is the same object, caught again, destroyed once.
EXPORT(rethrow) int rethrow() {
    destroyed = 0;
    int inner = 0;
    try {
        try {
            throw Tracked(7);
        } catch (Tracked &t) {
            t.v++;
            inner = t.v;
            throw;
        }
    } catch (const Tracked &t) {
        if (t.v != 8 || inner != 8) {
            return -1;
        }
    }
    return destroyed; // 1: the thrown object, once
}

// std::exception_ptr keeps the exception after its handler ends; rethrow_exception throws it again.
EXPORT(exception_ptr) int exception_ptr() {
    std::exception_ptr saved;
    try {
        throw std::out_of_range("kept");
    } catch (...) {
        saved = std::current_exception();
    }
    int r = 0;
    for (int i = 0; i < 2; i++) {
        try {
            std::rethrow_exception(saved);
        } catch (const std::out_of_range &e) {
            r += strcmp(e.what(), "kept") == 0 ? 1 : 100;
        }
    }
    return r; // 2
}

// A throw and catch inside a handler leaves the handler's own exception intact.
EXPORT(nested) int nested() {
    try {
        throw Tracked(1);
    } catch (const Tracked &outer) {
        try {
            throw Tracked(2);
        } catch (const Tracked &inner) {
            if (inner.v != 2) {
                return -1;
            }
        }
        return outer.v == 1 && std::uncaught_exceptions() == 0 ? 1 : -2;
    }
}

struct Counter {
    int *seen;
    ~Counter() { *seen = std::uncaught_exceptions(); }
};

// std::uncaught_exceptions is 1 while a destructor runs during unwinding.
EXPORT(uncaught) int uncaught() {
    int seen = -1;
    try {
        Counter c{&seen};
        may_throw(9);
    } catch (...) {
    }
    return seen; // 1
}

// An exception nothing catches ends the call (the host reports it).
EXPORT(escape) void escape() { may_throw(100); }

// A trap inside a guarded call is not an exception: it ends the call as a trap.
EXPORT(trap) int trap() {
    try {
        Tracked t(0);
        __builtin_trap();
    } catch (...) {
        return -1;
    }
}

__attribute__((noinline)) static int plain_body(int x) {
    Tracked t(x);
    return t.v + 1;
}

// Through a pointer the compiler cannot see through, so the call is guarded.
static int (*volatile plain)(int) = plain_body;

// n guarded calls that do not throw: what a guarded call costs.
EXPORT(guarded_calls) int guarded_calls(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        try {
            s += plain(i);
        } catch (...) {
            return -1;
        }
    }
    return s;
}

// n throws, each caught one frame up.
EXPORT(throws) int throws(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        try {
            may_throw(4 + i);
        } catch (const std::runtime_error &) {
            s++;
        }
    }
    return s;
}

// The table index of a function taking and returning a 32-bit value, for the host's test of
// invoke itself.
__attribute__((noinline)) static int *next_cell(int *p) { return p + 1; }
EXPORT(next_cell_index) int next_cell_index() { return (int)(__INTPTR_TYPE__)&next_cell; }
EXPORT(cells) int *cells_address() {
    static int cells[4] = {10, 20, 30, 40};
    return cells;
}

// setjmp/longjmp (the emscripten-style lowering, on the same invoke functions).
#include <setjmp.h>

static jmp_buf outer_jb;

__attribute__((noinline)) static void jump_from(int depth, jmp_buf jb, int value) {
    if (depth == 0) {
        longjmp(jb, value);
    }
    jump_from(depth - 1, jb, value);
}

// longjmp from depth frames down reaches its setjmp with its value; locals marked volatile
// keep what they held.
EXPORT(sjlj_basic) int sjlj_basic(int depth) {
    volatile int steps = 0;
    int r = setjmp(outer_jb);
    if (r == 0) {
        steps = 1;
        jump_from(depth, outer_jb, 42);
        return -1;
    }
    return r == 42 && steps == 1 ? r : -2;
}

// longjmp(buf, 0) makes setjmp return 1.
EXPORT(sjlj_zero) int sjlj_zero() {
    jmp_buf jb;
    if (setjmp(jb) == 0) {
        jump_from(3, jb, 0);
        return -1;
    }
    return 1;
}

// A longjmp to an outer setjmp passes through a function with a setjmp of its own.
__attribute__((noinline)) static int middle(jmp_buf outer) {
    jmp_buf inner;
    if (setjmp(inner) == 0) {
        jump_from(2, outer, 7);
        return -1;
    }
    return -3; // the inner setjmp must not be the one that returns
}

EXPORT(sjlj_through) int sjlj_through() {
    jmp_buf jb;
    int r = setjmp(jb);
    if (r == 0) {
        return middle(jb);
    }
    return r;
}

// setjmp reached many times in one call (the table of setjmp points grows).
EXPORT(sjlj_loop) int sjlj_loop(int n) {
    volatile int count = 0;
    for (volatile int i = 0; i < n; i++) {
        jmp_buf jb;
        if (setjmp(jb) == 0) {
            jump_from(1, jb, i + 1);
        } else {
            count = count + 1;
        }
    }
    return count;
}

// operator new throws std::bad_alloc when memory runs out (libc++ built without exceptions
// would return null); the nothrow form returns null.
#include <new>
#include <stdint.h>
EXPORT(bad_alloc) int bad_alloc() {
    volatile size_t huge = SIZE_MAX - 4096; // more than wasm32 can address
    static char *volatile kept;             // keeps the compiler from assuming allocations away
    int r = 0;
    try {
        kept = new char[huge];
        r = -1;
    } catch (const std::bad_alloc &) {
        r = 1;
    }
    kept = new (std::nothrow) char[huge];
    return kept == nullptr ? r : -2;
}
