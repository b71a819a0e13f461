// The daemon's mutex: absl::Mutex, except in ThreadSanitizer builds, where it is std::mutex
// behind the same thread-safety annotations.
//
// Why: Debian's Abseil is built without -fsanitize=thread, so absl::Mutex's lock and unlock
// (futexes and atomics inside libabsl_synchronization) carry no TSan annotations, and TSan
// reports every access a Mutex orders as a data race (seen: two batches' journal appends,
// serialised by Journal::mu_, reported racing inside SQLite). TSan sees std::mutex through its
// pthread interceptors, and its own deadlock detector checks the lock order there; the other
// builds keep absl's (docs/architecture.md "Locks"). Both sides are checked by clang's
// -Wthread-safety the same way: the annotations are on this type.
#ifndef PPSIM_SERVER_STORE_MUTEX_H_
#define PPSIM_SERVER_STORE_MUTEX_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

#if defined(__SANITIZE_THREAD__)
#define PPSIM_TSAN_MUTEX 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PPSIM_TSAN_MUTEX 1
#endif
#endif

#ifdef PPSIM_TSAN_MUTEX
#include <mutex>
#endif

namespace ppsim {

#ifdef PPSIM_TSAN_MUTEX

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { m_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { m_.unlock(); }
  // Tells the analysis the lock is held; checks nothing at run time (std::mutex cannot).
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex m_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

#else

using Mutex = absl::Mutex;
using MutexLock = absl::MutexLock;

#endif

}  // namespace ppsim

#endif  // PPSIM_SERVER_STORE_MUTEX_H_
