#include "core/work_team.hpp"

#include <system_error>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace stray::internal {

namespace {

// About 40 µs of polling before a helper sleeps: a linkage's scans, and a
// k-means iteration's steps, come closer together than that.
constexpr int kSpinsBeforeSleep = 2000;

// The team and worker whose block this thread is running, if any: a loop
// started from inside a block runs on that thread alone.
thread_local const WorkTeam* t_team = nullptr;
thread_local int t_worker = 0;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

WorkTeam::WorkTeam(int threads) {
  for (int t = 1; t < threads; ++t) {
    try {
      helpers_.emplace_back([this, t] { helper_loop(t); });
    } catch (const std::system_error&) {
      break;  // no more threads to be had
    }
  }
}

WorkTeam::~WorkTeam() {
  stop_.store(true, std::memory_order_release);
  published_.fetch_add(1, std::memory_order_release);
  published_.notify_all();
  for (std::thread& h : helpers_) h.join();
}

void WorkTeam::run(int64_t blocks, const std::function<void(int64_t, int)>& fn) {
  if (blocks <= 0) return;
  if (t_team == this) {  // nested: the helpers are busy with the outer loop
    for (int64_t b = 0; b < blocks; ++b) fn(b, t_worker);
    return;
  }
  if (helpers_.empty() || blocks == 1 || blocks >= (int64_t{1} << kIndexBits)) {
    for (int64_t b = 0; b < blocks; ++b) fn(b, 0);
    return;
  }
  ++generation_;
  fn_ = &fn;
  failed_.store(false, std::memory_order_relaxed);
  error_ = nullptr;
  blocks_.store(blocks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  next_.store(generation_ << kIndexBits, std::memory_order_release);
  published_.store(generation_, std::memory_order_release);
  published_.notify_all();
  work(generation_, 0);
  // Only blocks a helper has claimed can be outstanding: it is running them.
  for (int spins = 0; done_.load(std::memory_order_acquire) != blocks; ++spins) {
    if (spins < kSpinsBeforeSleep)
      cpu_relax();
    else
      std::this_thread::yield();
  }
  if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
}

void WorkTeam::record(std::exception_ptr error) {
  std::lock_guard<std::mutex> lock(error_mutex_);
  if (!error_) error_ = std::move(error);
  failed_.store(true, std::memory_order_release);
}

void WorkTeam::work(uint64_t generation, int worker) {
  constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
  uint64_t v = next_.load(std::memory_order_acquire);
  for (;;) {
    // A claim succeeds only while the counter is still this loop's, so a
    // late helper never takes a block of the next loop.
    if ((v >> kIndexBits) != generation) return;
    const auto index = static_cast<int64_t>(v & kIndexMask);
    if (index >= blocks_.load(std::memory_order_acquire)) return;
    if (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      continue;
    if (!failed_.load(std::memory_order_acquire)) {  // after a failure, blocks are only counted
      // Saved and restored: this block may itself run inside another
      // team's block.
      const WorkTeam* outer_team = t_team;
      const int outer_worker = t_worker;
      t_team = this;
      t_worker = worker;
      try {
        (*fn_)(index, worker);
      } catch (...) {
        record(std::current_exception());
      }
      t_team = outer_team;
      t_worker = outer_worker;
    }
    done_.fetch_add(1, std::memory_order_release);
    v = next_.load(std::memory_order_acquire);
  }
}

void WorkTeam::helper_loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = published_.load(std::memory_order_acquire);
    for (int spins = 0; g == seen; ++spins) {
      if (spins < kSpinsBeforeSleep)
        cpu_relax();
      else
        published_.wait(seen, std::memory_order_acquire);
      g = published_.load(std::memory_order_acquire);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = g;
    work(g, worker);
  }
}

}  // namespace stray::internal
