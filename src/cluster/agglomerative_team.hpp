// Threads for the linkage scans: helpers that take blocks of a scan only
// while they are running.
//
// A linkage algorithm makes tens of thousands of scans, each tens of
// microseconds long, one after another. An OpenMP region per scan ends in a
// join that waits for every thread: on a machine whose cores are busy with
// other work a thread that is not scheduled holds the join for a whole
// time slice, and two threads ran twenty times slower than one. Here the
// calling thread and the helpers claim a scan's blocks from one counter:
// a helper that is not running claims nothing, the caller does its share,
// and the caller waits only for blocks a helper has already started.
// Helpers spin briefly between scans (the next comes within microseconds),
// then sleep.
//
// Which thread runs a block varies from run to run; callers keep one
// result per block and combine them in block order, so results do not.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace stray::internal {

class ScanTeam {
 public:
  /// `threads` − 1 helpers (none for 1).
  explicit ScanTeam(int threads);
  ~ScanTeam();
  ScanTeam(const ScanTeam&) = delete;
  ScanTeam& operator=(const ScanTeam&) = delete;

  int threads() const { return static_cast<int>(helpers_.size()) + 1; }
  /// Runs fn(b) once for every b in [0, blocks), on this thread and any
  /// helper that is free; returns when all have returned. fn must not
  /// throw.
  void run(int64_t blocks, const std::function<void(int64_t)>& fn);

 private:
  static constexpr int kIndexBits = 24;  // blocks per run < 2^24
  void work(uint64_t generation);
  void helper_loop();

  // (generation << kIndexBits) | next unclaimed block.
  std::atomic<uint64_t> next_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<uint64_t> published_{0};  // the generation helpers should join
  std::atomic<int64_t> blocks_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int64_t)>* fn_ = nullptr;
  uint64_t generation_ = 0;
  std::vector<std::thread> helpers_;
};

}  // namespace stray::internal
