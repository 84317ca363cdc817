#include "cluster/agglomerative_team.hpp"

#include <system_error>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace stray::internal {

namespace {

// About 40 µs of polling before a helper sleeps: scans come closer together.
constexpr int kSpinsBeforeSleep = 2000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

ScanTeam::ScanTeam(int threads) {
  for (int t = 1; t < threads; ++t) {
    try {
      helpers_.emplace_back([this] { helper_loop(); });
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the scans run on those there are
    }
  }
}

ScanTeam::~ScanTeam() {
  stop_.store(true, std::memory_order_release);
  published_.fetch_add(1, std::memory_order_release);
  published_.notify_all();
  for (std::thread& h : helpers_) h.join();
}

void ScanTeam::run(int64_t blocks, const std::function<void(int64_t)>& fn) {
  if (helpers_.empty() || blocks <= 1 || blocks >= (int64_t{1} << kIndexBits)) {
    for (int64_t b = 0; b < blocks; ++b) fn(b);
    return;
  }
  ++generation_;
  fn_ = &fn;
  blocks_.store(blocks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  next_.store(generation_ << kIndexBits, std::memory_order_release);
  published_.store(generation_, std::memory_order_release);
  published_.notify_all();
  work(generation_);
  // Only blocks a helper has claimed can be outstanding: it is running them.
  for (int spins = 0; done_.load(std::memory_order_acquire) != blocks; ++spins) {
    if (spins < kSpinsBeforeSleep)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

void ScanTeam::work(uint64_t generation) {
  constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
  uint64_t v = next_.load(std::memory_order_acquire);
  for (;;) {
    // A claim succeeds only while the counter is still this run's, so a
    // late helper never takes a block of the next run.
    if ((v >> kIndexBits) != generation) return;
    const auto index = static_cast<int64_t>(v & kIndexMask);
    if (index >= blocks_.load(std::memory_order_acquire)) return;
    if (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      continue;
    (*fn_)(index);
    done_.fetch_add(1, std::memory_order_release);
    v = next_.load(std::memory_order_acquire);
  }
}

void ScanTeam::helper_loop() {
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
    work(g);
  }
}

}  // namespace stray::internal
