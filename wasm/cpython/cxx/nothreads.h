/* Threads' classes for C++ sources on wasm32-wasi, forced into the packages' C++ compiles
 * (-include), with include/ searched before libc++'s headers (its <thread> refuses to compile
 * without threads; ours names this file).
 *
 * WASI preview 1 has no threads, and this toolchain's libc++ is built without them: <mutex>,
 * <condition_variable> and <thread> then declare nothing, though code written for threads
 * (kiwisolver's global lock, pybind11's internals, contourpy's threaded generator) names them.
 * With one thread a lock has nothing to wait for, so mutexes and locks are the standard
 * classes' interfaces with nothing behind them (a lock taken twice where the standard mutex
 * would deadlock is not detected). What would need a second thread fails as the standard says
 * it may, with std::system_error: starting a thread (resource_unavailable_try_again), waiting
 * on a condition variable (which nothing could ever notify: resource_deadlock_would_occur).
 * std::thread::hardware_concurrency() is 1, so code that sizes its pool by it starts none. */
#ifndef WASMBOX_NOTHREADS_H
#define WASMBOX_NOTHREADS_H
#if defined(__cplusplus)
#include <__config>
#if defined(_LIBCPP_HAS_NO_THREADS)
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>

_LIBCPP_BEGIN_NAMESPACE_STD

class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex &) = delete;
    mutex &operator=(const mutex &) = delete;
    void lock() {}
    bool try_lock() noexcept { return true; }
    void unlock() noexcept {}
};

class recursive_mutex {
public:
    recursive_mutex() = default;
    recursive_mutex(const recursive_mutex &) = delete;
    recursive_mutex &operator=(const recursive_mutex &) = delete;
    void lock() {}
    bool try_lock() noexcept { return true; }
    void unlock() noexcept {}
};

struct defer_lock_t { explicit defer_lock_t() = default; };
struct try_to_lock_t { explicit try_to_lock_t() = default; };
struct adopt_lock_t { explicit adopt_lock_t() = default; };
inline constexpr defer_lock_t defer_lock{};
inline constexpr try_to_lock_t try_to_lock{};
inline constexpr adopt_lock_t adopt_lock{};

template <class M>
class lock_guard {
    M &m_;

public:
    typedef M mutex_type;
    explicit lock_guard(M &m) : m_(m) { m_.lock(); }
    lock_guard(M &m, adopt_lock_t) : m_(m) {}
    ~lock_guard() { m_.unlock(); }
    lock_guard(const lock_guard &) = delete;
    lock_guard &operator=(const lock_guard &) = delete;
};

template <class M>
class unique_lock {
    M *m_ = nullptr;
    bool owns_ = false;

public:
    typedef M mutex_type;
    unique_lock() noexcept = default;
    explicit unique_lock(M &m) : m_(&m), owns_(true) { m.lock(); }
    unique_lock(M &m, defer_lock_t) noexcept : m_(&m) {}
    unique_lock(M &m, try_to_lock_t) : m_(&m), owns_(m.try_lock()) {}
    unique_lock(M &m, adopt_lock_t) : m_(&m), owns_(true) {}
    ~unique_lock() {
        if (owns_) m_->unlock();
    }
    unique_lock(const unique_lock &) = delete;
    unique_lock &operator=(const unique_lock &) = delete;
    unique_lock(unique_lock &&o) noexcept : m_(o.m_), owns_(o.owns_) { o.m_ = nullptr; o.owns_ = false; }
    void lock() { m_->lock(); owns_ = true; }
    bool try_lock() { return owns_ = m_->try_lock(); }
    void unlock() { m_->unlock(); owns_ = false; }
    bool owns_lock() const noexcept { return owns_; }
    explicit operator bool() const noexcept { return owns_; }
    M *mutex() const noexcept { return m_; }
    M *release() noexcept { M *m = m_; m_ = nullptr; owns_ = false; return m; }
};

template <class... M>
class scoped_lock {
public:
    explicit scoped_lock(M &...) {}
    scoped_lock(const scoped_lock &) = delete;
    scoped_lock &operator=(const scoped_lock &) = delete;
};

[[noreturn]] inline void __wasmbox_no_threads(errc e, const char *what) {
#if __has_feature(cxx_exceptions)
    throw system_error(make_error_code(e), what);
#else
    (void)e;
    __libcpp_verbose_abort("%s\n", what);
#endif
}

class thread {
public:
    class id {
    public:
        id() noexcept = default;
        friend bool operator==(id, id) noexcept { return true; }
        friend bool operator!=(id, id) noexcept { return false; }
        friend bool operator<(id, id) noexcept { return false; }
    };
    thread() noexcept = default;
    template <class F, class... Args>
    explicit thread(F &&, Args &&...) {
        __wasmbox_no_threads(errc::resource_unavailable_try_again, "wasm32-wasi has no threads");
    }
    thread(const thread &) = delete;
    thread(thread &&) noexcept = default;
    thread &operator=(thread &&) noexcept = default;
    bool joinable() const noexcept { return false; }
    void join() { __wasmbox_no_threads(errc::invalid_argument, "no thread to join"); }
    void detach() { __wasmbox_no_threads(errc::invalid_argument, "no thread to detach"); }
    id get_id() const noexcept { return id(); }
    static unsigned hardware_concurrency() noexcept { return 1; }
};

namespace this_thread {
inline thread::id get_id() noexcept { return thread::id(); }
inline void yield() noexcept {}
} // namespace this_thread

template <class T>
struct hash;
template <>
struct hash<thread::id> {
    size_t operator()(thread::id) const noexcept { return 0; }
};

enum class cv_status { no_timeout, timeout };

class condition_variable {
public:
    condition_variable() = default;
    condition_variable(const condition_variable &) = delete;
    condition_variable &operator=(const condition_variable &) = delete;
    void notify_one() noexcept {}
    void notify_all() noexcept {}
    void wait(unique_lock<mutex> &) {
        __wasmbox_no_threads(errc::resource_deadlock_would_occur, "waiting for another thread, and there is none");
    }
    template <class Predicate>
    void wait(unique_lock<mutex> &lock, Predicate ready) {
        while (!ready()) {
            wait(lock);
        }
    }
};

_LIBCPP_END_NAMESPACE_STD

#endif
#endif
#endif
