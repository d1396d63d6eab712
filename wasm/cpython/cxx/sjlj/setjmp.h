/* setjmp/longjmp for wasm32-wasi, which has none: sources that use them are compiled with
 * clang's emscripten-style lowering (-mllvm -enable-emscripten-sjlj, cxx/cxx.sh's SJLJ_FLAGS),
 * which rewrites the calls of these two functions; the runtime is reactor/cxxeh.cpp's. A
 * buffer holds the id of the setjmp that filled it. */
#ifndef WASMBOX_SETJMP_H
#define WASMBOX_SETJMP_H
#ifdef __cplusplus
extern "C" {
#endif
typedef struct {
    unsigned long __id[2];
} jmp_buf[1];
int setjmp(jmp_buf) __attribute__((returns_twice));
__attribute__((noreturn)) void longjmp(jmp_buf, int);
#define _setjmp setjmp
#define _longjmp longjmp
#ifdef __cplusplus
}
#endif
#endif
