/* The C++ runtime's throw for the packages' C++ sources (numpy's pocketfft and unique).
 *
 * This toolchain's wasm32-wasi has no exception handling: C++ sources compile with exceptions
 * enabled but every try block is dropped, and libc++abi does not provide __cxa_throw. The only
 * throws that can be reached are allocation failures (std::bad_alloc, which libc++ itself turns
 * into abort() here) and inputs numpy rejects before (a zero-length FFT), so a throw ends the
 * interpreter with a message: the run fails as a crash and the session's worker is replaced,
 * as for running out of memory. */
#include <stdio.h>
#include <stdlib.h>

void *
__cxa_allocate_exception(size_t n)
{
    void *p = malloc(n > 0 ? n : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

_Noreturn void
__cxa_throw(void *obj, void *type, void (*destroy)(void *))
{
    (void)obj;
    (void)type;
    (void)destroy;
    fputs("wasmbox: a native package threw a C++ exception, which this build cannot catch; "
          "the interpreter stops\n", stderr);
    fflush(stderr);
    abort();
}
