// The OpenMP thread count of the calling thread, set for a scope.
//
// The fleet pipeline's host steps (feature building, input checks) are
// OpenMP loops, which take OpenMP's count, not the backend's. A host that
// asks the CPU backend for one thread expects one everywhere. OpenMP keeps
// the count per thread (its nthreads-var), so setting it here and putting it
// back on leaving changes nothing for the host's other threads.
#pragma once

#include <omp.h>

namespace stray::internal {

class ScopedHostThreads {
 public:
  /// threads > 0: that many for OpenMP loops started on this thread until
  /// the scope ends; 0: OpenMP's own count, untouched.
  explicit ScopedHostThreads(int threads) {
    if (threads <= 0) return;
    previous_ = omp_get_max_threads();
    omp_set_num_threads(threads);
  }
  ~ScopedHostThreads() {
    if (previous_ > 0) omp_set_num_threads(previous_);
  }
  ScopedHostThreads(const ScopedHostThreads&) = delete;
  ScopedHostThreads& operator=(const ScopedHostThreads&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace stray::internal
