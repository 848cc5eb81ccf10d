#pragma once
// Thread contracts the compiler checks: Clang's thread-safety analysis (-Wthread-safety,
// on in every clang build; CI's ThreadSanitizer build is clang with -Werror). GCC ignores
// the attributes.
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_);          // read or written only with mu_ held
//   void Add() REQUIRES(mu_);            // the caller holds mu_
//   { MutexLock l(&mu_); count_++; }     // scoped lock the analysis understands
//
// The loop thread is a capability too (`loop_thread`): state that only the loop may touch,
// in a class whose other parts run on helper threads, is GUARDED_BY(loop_thread), and code
// that touches it is REQUIRES(loop_thread) or asserts it (AssertOnLoop) at an entry point
// the loop calls: a job body (which runs on a helper) that reaches such state does not
// compile.
//
// std::mutex is not annotated in libstdc++, hence the small wrappers below.

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define FERRITE_TSA(x) __attribute__((x))
#else
#define FERRITE_TSA(x)
#endif

#define CAPABILITY(x) FERRITE_TSA(capability(x))
#define SCOPED_CAPABILITY FERRITE_TSA(scoped_lockable)
#define GUARDED_BY(x) FERRITE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) FERRITE_TSA(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) FERRITE_TSA(acquired_before(__VA_ARGS__))
#define REQUIRES(...) FERRITE_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) FERRITE_TSA(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) FERRITE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) FERRITE_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) FERRITE_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) FERRITE_TSA(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) FERRITE_TSA(assert_capability(x))
#define RETURN_CAPABILITY(x) FERRITE_TSA(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS FERRITE_TSA(no_thread_safety_analysis)

namespace ferrite {

// A std::mutex the analysis knows about.
class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis the caller holds it (e.g. inside a condition-variable predicate).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// A condition variable waited on with a Mutex held (it is released while waiting and held
// again on return, as std::condition_variable does).
class CondVar {
 public:
  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu->mu_, std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  // false: timed out.
  template <class Rep, class Period>
  bool WaitFor(Mutex* mu, std::chrono::duration<Rep, Period> d) REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu->mu_, std::adopt_lock);
    bool signalled = cv_.wait_for(lk, d) == std::cv_status::no_timeout;
    lk.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// The loop thread as a capability: see the header comment. There is one loop; this object
// has no state, it only names the capability.
class CAPABILITY("loop thread") LoopThread {};
inline LoopThread loop_thread;

// The caller runs on the loop thread (or, in unit tests, on the one thread that stands in
// for it): from here on the analysis grants loop_thread. A claim, not a run-time check:
// ThreadSanitizer catches a wrong one when it races.
inline void AssertOnLoop() ASSERT_CAPABILITY(loop_thread) {}

}  // namespace ferrite
