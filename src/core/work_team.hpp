// A team of threads for parallel loops that keeps its speed when the
// machine is busy.
//
// stray runs inside other products, on cores they share with other work.
// An OpenMP region ends in a join that waits for every thread of the team:
// a thread that is not scheduled holds the join for a whole time slice,
// and OpenMP's waiting threads spin on a core the late one could use. With
// one competing process on a two-core machine, a two-thread k-means fit
// took several times as long as a one-thread fit (bench/RESULTS.md). A
// library cannot ask its host to set OMP_WAIT_POLICY: the OpenMP runtime
// reads it once, before any library code runs.
//
// Here the calling thread and the helpers claim a loop's blocks from one
// counter: a helper that is not running claims nothing, the caller does
// its share and more, and it waits only for blocks a helper has already
// started. Helpers spin briefly between loops (the next often comes within
// microseconds), then sleep in the kernel, so they cost nothing while the
// library is idle or the caller works alone.
//
// Which thread runs a block varies from run to run. Callers define blocks
// by the data's shape alone, keep one result per block and combine them
// in block order, so results do not depend on the thread count or on the
// scheduling.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace stray::internal {

class WorkTeam {
 public:
  /// `threads` − 1 helpers (none for 1, or where the system gives no more
  /// threads: the loops then run on those there are).
  explicit WorkTeam(int threads);
  ~WorkTeam();
  WorkTeam(const WorkTeam&) = delete;
  WorkTeam& operator=(const WorkTeam&) = delete;

  /// The threads that may run a loop's blocks, the caller's included.
  int threads() const { return static_cast<int>(helpers_.size()) + 1; }

  /// Runs fn(block, worker) once for every block in [0, blocks), on this
  /// thread and any helper that is free; `worker` in [0, threads()) names
  /// the thread (0 is the caller), for per-thread scratch. One caller at a
  /// time: threads that may call run at once need a team each. Returns when
  /// every block has run. An exception from fn skips the blocks not yet
  /// started and is rethrown here (the first, if several) once the started
  /// ones have finished. A loop started by fn on this team runs on fn's
  /// thread alone, with fn's worker number.
  void run(int64_t blocks, const std::function<void(int64_t, int)>& fn);

 private:
  static constexpr int kIndexBits = 24;  // blocks per loop < 2^24
  void work(uint64_t generation, int worker);
  void helper_loop(int worker);
  void record(std::exception_ptr error);

  // (generation << kIndexBits) | next unclaimed block.
  std::atomic<uint64_t> next_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<uint64_t> published_{0};  // the generation helpers should join
  std::atomic<int64_t> blocks_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  const std::function<void(int64_t, int)>* fn_ = nullptr;
  uint64_t generation_ = 0;
  std::vector<std::thread> helpers_;
};

/// One T per worker of a team, each made by `make` on its worker's first
/// use (a helper that never runs makes none).
template <class T>
class PerWorker {
 public:
  PerWorker(const WorkTeam& team, std::function<T()> make)
      : items_(static_cast<std::size_t>(team.threads())), make_(std::move(make)) {}
  T& operator[](int worker) {
    std::unique_ptr<T>& item = items_[static_cast<std::size_t>(worker)];
    if (!item) item = std::make_unique<T>(make_());
    return *item;
  }
  /// fn(item) for each item made, in worker order.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (auto& item : items_)
      if (item) fn(*item);
  }

 private:
  std::vector<std::unique_ptr<T>> items_;
  std::function<T()> make_;
};

/// A reduction whose order is fixed by the chunks: compute(c, part, worker)
/// fills chunk c's part (`part_size` doubles, zeroed) on the team, and
/// merge(c, part) takes the parts on the calling thread in chunk order. At
/// most `max_parts` parts are held at once (the chunks run in waves of that
/// many), so memory does not grow with the chunk count; the result does not
/// depend on it.
template <class Compute, class Merge>
void run_ordered(WorkTeam& team, int64_t chunks, std::size_t part_size, int64_t max_parts,
                 Compute&& compute, Merge&& merge) {
  const int64_t wave = std::clamp<int64_t>(max_parts, 1, std::max<int64_t>(chunks, 1));
  std::vector<double> parts(static_cast<std::size_t>(wave) * part_size);
  for (int64_t first = 0; first < chunks; first += wave) {
    const int64_t count = std::min(wave, chunks - first);
    std::fill(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(count * part_size), 0.0);
    team.run(count, [&](int64_t i, int worker) {
      compute(first + i, parts.data() + static_cast<std::size_t>(i) * part_size, worker);
    });
    for (int64_t i = 0; i < count; ++i) {
      merge(first + i, static_cast<const double*>(parts.data() + static_cast<std::size_t>(i) * part_size));
    }
  }
}

}  // namespace stray::internal
