// The live points of a linkage algorithm (ward's clusters, the rows Prim's
// tree has not reached yet), laid out for one fast scan per step.
//
// Each step of the nearest-neighbour chain and of Prim's tree measures one
// query against every live point and keeps the nearest. A scan reads every
// live point, so its speed is the memory it reads; it has two stages:
//  - a screen: squared distances in float32 from column-centred, scaled
//    coordinates in structure-of-arrays form (coordinate k of all points
//    contiguous), down the vector lanes — half the bytes of float64;
//  - the exact value, Σ (a_k − b_k)² in float64 from the points' own
//    coordinates, for the few points the screen cannot rule out: a point
//    whose screened value is not below ScreenBound::threshold(best exact
//    value so far) cannot beat it. So every decision is made on exact
//    values, in position order, as a plain float64 loop would make it.
// Points keep the order of their slots (the input row standing for each),
// so the first nearest position is the lowest slot among ties, as in
// scipy's loops over i = 0..n−1.
//
// A point that dies is marked, not moved: its first screen coordinate
// becomes +inf, so its screened distance is +inf and it is never looked at
// again. Once a quarter of the positions are dead they are squeezed out in
// one stable pass, so a scan reads at most 4/3 of the live points and
// compaction costs O(n·d) a handful of times in all.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/work_team.hpp"
#include "stray/core/matrix.hpp"

namespace stray::internal {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr int64_t kScanBlock = 256;

/// Which screened values may hide an exact value below b, for one query:
/// screened < threshold(b) (both in the screen's scaled units).
struct ScreenBound {
  double slope = 1.0;   // σ²·(1 + 2c): the scale, and the relative error
  double offset = 0.0;  // what the error of the coordinates adds
  double threshold(double b) const { return b * slope + offset; }
};

/// A query as the screen sees it.
struct ScreenQuery {
  std::vector<float> coords;  // [d] centred, scaled, float32
  ScreenBound bound;
};

class LivePoints {
 public:
  /// The rows of X as points, each with the value `aux` (a cluster's size,
  /// or Prim's squared distance to the tree).
  LivePoints(MatrixView<const float> X, double aux);

  int64_t d() const { return d_; }
  /// Positions scanned: live points and dead ones not yet squeezed out.
  int64_t positions() const { return len_; }
  int64_t slot_at(int64_t p) const { return slot_[static_cast<std::size_t>(p)]; }
  int64_t position_of(int64_t slot) const { return pos_[static_cast<std::size_t>(slot)]; }
  bool alive(int64_t slot) const { return pos_[static_cast<std::size_t>(slot)] >= 0; }
  /// The lowest live slot (scipy starts a new chain there).
  int64_t first_alive_slot();

  /// A point's coordinates, float64 [d] (valid until its next write()).
  const double* exact(int64_t slot) const {
    return exact_.data() + static_cast<std::size_t>(slot * d_);
  }
  /// Σ_k (exact(slot)_k − q_k)²: the value every decision is made on.
  double exact_sq_distance(int64_t slot, const double* q) const {
    const double* c = exact(slot);
    double s = 0.0;
    for (int64_t k = 0; k < d_; ++k) {
      const double t = c[k] - q[k];
      s += t * t;
    }
    return s;
  }
  /// Replaces the point's coordinates (float64, [d]); they must stay
  /// within the input rows' hull (a centroid does), which bounds the screen.
  void write(int64_t slot, const double* coords);

  /// aux at each position (writes through it leave screen_aux() as it was).
  double* aux() { return aux_.data(); }
  double aux_of(int64_t slot) const { return aux_[static_cast<std::size_t>(position_of(slot))]; }
  /// Sets a live point's aux, and its float32 copy for the screen.
  void set_aux(int64_t slot, double value);
  /// aux at each position as float32, for the screen's loops [positions()].
  const float* screen_aux() const { return screen_aux_.data(); }

  /// q [d] (float64, as exact()) for the screen, into `out`.
  void make_query(const double* q, ScreenQuery& out) const;
  /// out[j] = screened ‖a − b_{p0+j}‖² for j in [0, count ≤ kScanBlock);
  /// +inf at dead or hidden positions.
  void screen(const ScreenQuery& a, int64_t p0, int64_t count, float* out) const;
  /// Hides a live position from scans (the query itself) until unhide().
  float hide(int64_t p);
  void unhide(int64_t p, float saved);

  /// Marks the point dead, aux = `dead_aux`, and squeezes the dead out when
  /// a quarter of the positions are.
  void kill(int64_t slot, double dead_aux);

 private:
  void compact();

  int64_t n_ = 0, d_ = 0, cap_ = 0, len_ = 0, dead_ = 0, first_alive_ = 0;
  std::vector<double> mean_;     // [d] column means of the input
  double scale_ = 1.0;           // σ, a power of two: scaled rows are within the unit ball
  double max_norm_ = 0.0;        // ≥ every scaled, centred point's squared norm
  std::vector<double> exact_;    // [n x d] by slot
  std::vector<float> screen_;    // [d x cap] σ·(x − mean): coordinate k of position p at k·cap + p
  std::vector<double> aux_;      // [cap]
  std::vector<float> screen_aux_;  // [cap] aux_ as float32
  std::vector<int64_t> slot_;    // [cap] slot at each position
  std::vector<int64_t> pos_;     // [n] position of each slot, −1 once dead
};

/// What one chunk of a scan found: the smallest exact value and its first
/// position.
struct ScanPart {
  double value = kInf;
  int64_t position = -1;
};

/// Positions per unit of work handed to a thread (four screen blocks).
inline constexpr int64_t kScanChunk = 4 * kScanBlock;

/// Runs body(begin, end, part) over the chunks of [0, len) on `team`, each
/// part starting at `initial` (a part keeps position −1 unless it finds a
/// strictly smaller value), and combines the parts in position order: the
/// first smallest value wins, so the result does not depend on which
/// thread ran which chunk. `parts` is scratch space.
template <typename Body>
ScanPart team_scan(WorkTeam& team, int64_t len, double initial, std::vector<ScanPart>& parts,
                   Body&& body) {
  const int64_t chunks = (len + kScanChunk - 1) / kScanChunk;
  parts.assign(static_cast<std::size_t>(chunks), ScanPart{initial, -1});
  team.run(chunks, [&](int64_t c, int) {
    body(c * kScanChunk, std::min(len, (c + 1) * kScanChunk), parts[static_cast<std::size_t>(c)]);
  });
  ScanPart best{initial, -1};
  for (const ScanPart& part : parts)
    if (part.value < best.value) best = part;
  return best;
}

/// The smallest exact value any chunk of a scan has found so far, shared
/// between threads to sharpen their screens (never to decide: each chunk
/// still records its own first smallest value).
class SharedBest {
 public:
  explicit SharedBest(double initial) : value_(initial) {}
  double get() const { return value_.load(std::memory_order_relaxed); }
  void offer(double v) {
    double seen = value_.load(std::memory_order_relaxed);
    while (v < seen && !value_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
    }
  }

 private:
  std::atomic<double> value_;
};

}  // namespace stray::internal
