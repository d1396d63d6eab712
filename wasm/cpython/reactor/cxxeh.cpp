// C++ exceptions for the packages' C++ sources, without wasm's exception-handling instructions.
//
// The packages' C++ is compiled with clang's emscripten-style lowering (-fexceptions -mllvm
// -enable-emscripten-cxx-exceptions): every call that may throw while a catch or a destructor
// is pending becomes a call to an imported invoke_<signature>(function, args...), after which
// the code tests __THREW__; a landing pad asks __cxa_find_matching_catch_N which of its catch
// clauses takes the exception in flight, and getTempRet0 for the answer.
//
// The host (package wasm, cxxeh.go) implements invoke_*: it calls the function through the
// table in a nested call, and when the guest throws (wasmbox.cxx_throw, below) the host unwinds
// that nested call, restores the shadow stack pointer and sets __THREW__ through
// wasmbox_cxx_threw. Everything else (which clause catches, adjusted pointers, the stack of
// caught exceptions, rethrow, std::exception_ptr) is here, in the guest, after libc++abi's own
// model (cxa_exception.cpp), with the type matching done by libc++abi's type_info classes.
//
// An exception that no invoke_ catches ends the call into the guest with an error, as
// std::terminate would.
//
// setjmp/longjmp (C sources compiled with -mllvm -enable-emscripten-sjlj, cxx/sjlj/setjmp.h)
// ride on the same invoke_*: a function that calls setjmp calls everything else through invoke
// and keeps a table of its setjmp points (saveSetjmp, testSetjmp, below); longjmp records the
// buffer and value in __THREW__/__threwValue and unwinds as a throw does, and the innermost
// invoke's caller either is the function whose setjmp the buffer names, or passes it on.

#include <exception>
#include <new>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <typeinfo>

namespace __cxxabiv1 {
// libc++abi's base of its type_info classes (private_typeinfo.h), declared with the same
// virtual functions so that can_catch is called through the right vtable slot.
class __shim_type_info : public std::type_info {
public:
    virtual ~__shim_type_info();
    virtual void noop1() const;
    virtual void noop2() const;
    virtual bool can_catch(const __shim_type_info *thrown, void *&adjusted) const = 0;
};
} // namespace __cxxabiv1

using __cxxabiv1::__shim_type_info;

extern "C" {
// libc++abi's vtable of pointer types' type_info (a thrown pointer is matched by its value).
extern void *_ZTVN10__cxxabiv119__pointer_type_infoE[];

// The host unwinds to the innermost invoke_* (cxxeh.go).
[[noreturn]] __attribute__((import_module("wasmbox"), import_name("cxx_throw"))) void wasmbox_cxx_throw(void);

// Emscripten's names, as the lowering emits them.
int __THREW__;
int __threwValue;
}

namespace {

// On wasm a destructor returns its object (as libc++abi's cxxabi.h declares it there): called
// as a function returning nothing it would fail call_indirect's type check.
typedef void *(*Destructor)(void *);

// What precedes every thrown object (the object stays aligned as malloc aligns).
struct alignas(16) Header {
    const std::type_info *type;
    Destructor destroy;
    int refs; // the throw's own reference, each std::exception_ptr, each rethrow of one
};

// One throw of an object: the object may be thrown again (std::rethrow_exception) while an
// earlier throw of it is still being handled.
struct Throw {
    Header *header;
    int handlers; // catch handlers active; negative when rethrown from one (libc++abi's handlerCount)
    void *adjusted;
    Throw *next; // the stack of caught exceptions
};

Throw *in_flight;
Throw *caught;
int uncaught;
int temp_ret0;

inline void *object_of(Header *h) { return h + 1; }
inline Header *header_of(void *obj) { return static_cast<Header *>(obj) - 1; }

[[noreturn]] void fail(const char *what) {
    fprintf(stderr, "wasmbox: C++ exception runtime: %s\n", what);
    fflush(stderr);
    abort();
}

void release(Header *h) {
    if (--h->refs == 0) {
        if (h->destroy != nullptr) {
            h->destroy(object_of(h));
        }
        free(h);
    }
}

[[noreturn]] void raise(Throw *t) {
    in_flight = t;
    wasmbox_cxx_throw();
}

Throw *new_throw(Header *h) {
    Throw *t = static_cast<Throw *>(calloc(1, sizeof(Throw)));
    if (t == nullptr) {
        fail("out of memory while throwing");
    }
    t->header = h;
    t->adjusted = object_of(h);
    uncaught++;
    return t;
}

bool is_pointer(const std::type_info *type) {
    return *reinterpret_cast<void *const *>(type) == &_ZTVN10__cxxabiv119__pointer_type_infoE[2];
}

// The landing pad's question: which of types (null: catch (...)) takes the exception in
// flight. The answer is the handle the pad passes to __cxa_begin_catch, and in temp_ret0 the
// matching clause's type, or the thrown type when none matches (the pad then resumes).
Throw *find_matching_catch(const std::type_info *const *types, int n) {
    Throw *t = in_flight;
    if (t == nullptr) {
        temp_ret0 = 0;
        return nullptr;
    }
    const std::type_info *thrown = t->header->type;
    void *object = object_of(t->header);
    // What a handler of the thrown type itself gets: a thrown pointer's value, else the object.
    t->adjusted = is_pointer(thrown) ? *static_cast<void **>(object) : object;
    for (int i = 0; i < n; i++) {
        if (types[i] == nullptr || types[i] == thrown) {
            break;
        }
        void *adjusted = object; // can_catch dereferences a pointer itself
        auto *clause = static_cast<const __shim_type_info *>(types[i]);
        if (clause->can_catch(static_cast<const __shim_type_info *>(thrown), adjusted)) {
            t->adjusted = adjusted;
            temp_ret0 = static_cast<int>(reinterpret_cast<intptr_t>(types[i]));
            return t;
        }
    }
    temp_ret0 = static_cast<int>(reinterpret_cast<intptr_t>(thrown));
    return t;
}

} // namespace

extern "C" {

// A longjmp in flight (it set __THREW__ and __threwValue itself).
static bool longjmp_in_flight;

__attribute__((export_name("wasmbox_cxx_threw"))) void wasmbox_cxx_threw(void) {
    if (longjmp_in_flight) {
        longjmp_in_flight = false;
        return;
    }
    __THREW__ = 1;
    __threwValue = 0;
}

// setjmp/longjmp: the lowering's runtime. A function calling setjmp keeps a table of
// {id, label} (its setjmp points reached so far), made with malloc for 4 entries and a 0
// terminator, and freed on return; saveSetjmp adds to it (growing it, and its size through
// setTempRet0), testSetjmp finds a buffer's label. A buffer holds the id of its last setjmp.
struct SetjmpEntry {
    uint32_t id, label;
};
static uint32_t setjmp_ids;

SetjmpEntry *saveSetjmp(uint32_t *env, uint32_t label, SetjmpEntry *table, uint32_t size) {
    uint32_t id = ++setjmp_ids;
    if (id == 0) {
        id = ++setjmp_ids; // 0 ends a table
    }
    *env = id;
    uint32_t i = 0;
    while (i < size && table[i].id != 0) {
        i++;
    }
    if (i == size) {
        size *= 2;
        table = static_cast<SetjmpEntry *>(realloc(table, sizeof(SetjmpEntry) * (size + 1)));
        if (table == nullptr) {
            fail("out of memory in setjmp");
        }
    }
    table[i] = {id, label};
    table[i + 1].id = 0;
    temp_ret0 = static_cast<int>(size);
    return table;
}

uint32_t testSetjmp(uint32_t id, const SetjmpEntry *table, uint32_t size) {
    for (uint32_t i = 0; i < size && table[i].id != 0; i++) {
        if (table[i].id == id) {
            return table[i].label;
        }
    }
    return 0;
}

[[noreturn]] void emscripten_longjmp(uintptr_t env, int value) {
    __THREW__ = static_cast<int>(env);
    __threwValue = value != 0 ? value : 1; // longjmp(env, 0) makes setjmp return 1
    longjmp_in_flight = true;
    wasmbox_cxx_throw();
}

int getTempRet0(void) { return temp_ret0; }
void setTempRet0(int v) { temp_ret0 = v; }

// llvm.eh.typeid.for: a clause is identified by its type_info's address.
int llvm_eh_typeid_for(void *type) { return static_cast<int>(reinterpret_cast<intptr_t>(type)); }

void *__cxa_allocate_exception(size_t size) noexcept {
    Header *h = static_cast<Header *>(malloc(sizeof(Header) + size));
    if (h == nullptr) {
        fail("out of memory allocating an exception");
    }
    memset(h, 0, sizeof(Header));
    return object_of(h);
}

void __cxa_free_exception(void *obj) noexcept { free(header_of(obj)); }

[[noreturn]] void __cxa_throw(void *obj, std::type_info *type, Destructor destroy) {
    Header *h = header_of(obj);
    h->type = type;
    h->destroy = destroy;
    h->refs = 1;
    raise(new_throw(h));
}

[[noreturn]] void __resumeException(void *handle) {
    if (handle == nullptr) {
        fail("resuming an exception that is not one");
    }
    raise(static_cast<Throw *>(handle));
}

// __cxa_find_matching_catch_N takes N - 2 types (clang names it by N); a try with more catch
// clauses than the largest here fails python.wasm's link check (an undefined import).
#define T const std::type_info *
#define FIND(N, ...)                                                                               \
    void *__cxa_find_matching_catch_##N(__VA_ARGS__)
#define BODY(...)                                                                                  \
    {                                                                                              \
        const std::type_info *types[] = {__VA_ARGS__};                                             \
        return find_matching_catch(types, sizeof(types) / sizeof(types[0]));                       \
    }
void *__cxa_find_matching_catch_2(void) { return find_matching_catch(nullptr, 0); }
FIND(3, T a) BODY(a)
FIND(4, T a, T b) BODY(a, b)
FIND(5, T a, T b, T c) BODY(a, b, c)
FIND(6, T a, T b, T c, T d) BODY(a, b, c, d)
FIND(7, T a, T b, T c, T d, T e) BODY(a, b, c, d, e)
FIND(8, T a, T b, T c, T d, T e, T f) BODY(a, b, c, d, e, f)
FIND(9, T a, T b, T c, T d, T e, T f, T g) BODY(a, b, c, d, e, f, g)
FIND(10, T a, T b, T c, T d, T e, T f, T g, T h) BODY(a, b, c, d, e, f, g, h)
FIND(11, T a, T b, T c, T d, T e, T f, T g, T h, T i) BODY(a, b, c, d, e, f, g, h, i)
FIND(12, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j) BODY(a, b, c, d, e, f, g, h, i, j)
FIND(13, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k) BODY(a, b, c, d, e, f, g, h, i, j, k)
FIND(14, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l) BODY(a, b, c, d, e, f, g, h, i, j, k, l)
FIND(15, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l, T m) BODY(a, b, c, d, e, f, g, h, i, j, k, l, m)
FIND(16, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l, T m, T n)
BODY(a, b, c, d, e, f, g, h, i, j, k, l, m, n)
FIND(17, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l, T m, T n, T o)
BODY(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o)
FIND(18, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l, T m, T n, T o, T p)
BODY(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)
FIND(19, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l, T m, T n, T o, T p, T q)
BODY(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q)
FIND(20, T a, T b, T c, T d, T e, T f, T g, T h, T i, T j, T k, T l, T m, T n, T o, T p, T q, T r)
BODY(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r)
#undef T
#undef FIND
#undef BODY

void *__cxa_begin_catch(void *handle) noexcept {
    Throw *t = static_cast<Throw *>(handle);
    if (t == nullptr) {
        fail("catching an exception that is not one");
    }
    t->handlers = (t->handlers < 0 ? -t->handlers : t->handlers) + 1;
    if (t != caught) {
        t->next = caught;
        caught = t;
    }
    uncaught--;
    if (in_flight == t) {
        in_flight = nullptr;
    }
    return t->adjusted;
}

void *__cxa_get_exception_ptr(void *handle) noexcept { return static_cast<Throw *>(handle)->adjusted; }

void __cxa_end_catch(void) {
    Throw *t = caught;
    if (t == nullptr) {
        return;
    }
    if (t->handlers < 0) {
        // Rethrown: it is in flight again, and stays alive for the next handler.
        if (++t->handlers == 0) {
            caught = t->next;
        }
        return;
    }
    if (--t->handlers == 0) {
        caught = t->next;
        Header *h = t->header;
        free(t);
        release(h);
    }
}

[[noreturn]] void __cxa_rethrow(void) {
    Throw *t = caught;
    if (t == nullptr) {
        std::terminate();
    }
    t->handlers = -t->handlers;
    uncaught++;
    raise(t);
}

std::type_info *__cxa_current_exception_type(void) {
    return caught == nullptr ? nullptr : const_cast<std::type_info *>(caught->header->type);
}

unsigned int __cxa_uncaught_exceptions(void) noexcept { return static_cast<unsigned int>(uncaught); }
bool __cxa_uncaught_exception(void) noexcept { return uncaught != 0; }

// std::exception_ptr (libc++'s exception.cpp calls these).
void __cxa_increment_exception_refcount(void *obj) noexcept {
    if (obj != nullptr) {
        header_of(obj)->refs++;
    }
}

void __cxa_decrement_exception_refcount(void *obj) noexcept {
    if (obj != nullptr) {
        release(header_of(obj));
    }
}

void *__cxa_current_primary_exception(void) noexcept {
    if (caught == nullptr) {
        return nullptr;
    }
    Header *h = caught->header;
    h->refs++;
    return object_of(h);
}

void __cxa_rethrow_primary_exception(void *obj) {
    if (obj == nullptr) {
        return;
    }
    Header *h = header_of(obj);
    h->refs++;
    raise(new_throw(h));
}

[[noreturn]] void __cxa_call_unexpected(void *) { std::terminate(); }

} // extern "C"

// operator new. Debian's libc++ for wasm32 is built without exceptions, so its operator new
// (weak, replaced by these) returns null when malloc fails, and code that trusts new wrote
// through the null pointer (Agg's pixel buffer for a 20000x20000 figure). These throw
// std::bad_alloc through this runtime instead, which pybind11 turns into MemoryError; the
// nothrow forms return null, as they should.
namespace {

void *destroy_bad_alloc(void *p) {
    static_cast<std::bad_alloc *>(p)->~bad_alloc();
    return p;
}

[[noreturn]] void throw_bad_alloc() {
    void *e = __cxa_allocate_exception(sizeof(std::bad_alloc));
    new (e) std::bad_alloc();
    __cxa_throw(e, const_cast<std::type_info *>(&typeid(std::bad_alloc)), destroy_bad_alloc);
}

void *try_alloc(size_t size, size_t align) {
    if (size == 0) {
        size = 1;
    }
    if (align <= alignof(max_align_t)) {
        return malloc(size);
    }
    void *p = nullptr;
    return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}

void *alloc(size_t size, size_t align) {
    void *p;
    while ((p = try_alloc(size, align)) == nullptr) {
        std::new_handler handler = std::get_new_handler();
        if (handler == nullptr) {
            throw_bad_alloc();
        }
        handler();
    }
    return p;
}

} // namespace

void *operator new(size_t size) { return alloc(size, 0); }
void *operator new[](size_t size) { return alloc(size, 0); }
void *operator new(size_t size, std::align_val_t align) { return alloc(size, static_cast<size_t>(align)); }
void *operator new[](size_t size, std::align_val_t align) { return alloc(size, static_cast<size_t>(align)); }
void *operator new(size_t size, const std::nothrow_t &) noexcept { return try_alloc(size, 0); }
void *operator new[](size_t size, const std::nothrow_t &) noexcept { return try_alloc(size, 0); }
void *operator new(size_t size, std::align_val_t align, const std::nothrow_t &) noexcept {
    return try_alloc(size, static_cast<size_t>(align));
}
void *operator new[](size_t size, std::align_val_t align, const std::nothrow_t &) noexcept {
    return try_alloc(size, static_cast<size_t>(align));
}
