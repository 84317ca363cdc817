// Movers: Hamerly's bounds with the farthest-moving centres taken out.
//
// A row's single lower bound falls by the largest shift of any other
// centre. In the first Lloyd iterations a few centres still travel far
// while the rest barely move (200,000 × 64 blobs, k = 100, iterations 3–5:
// the largest shift 30–35, the 25th 0.8–5, the median 0.1–1), and that one
// shift fails every row's bound, so every row is computed against all k
// centres although only 1–4% change label; later, when the median centre
// no longer moves at all, the largest shift still fails 10–15% of rows.
// A row whose bound fails is first compared exactly with its own centre
// and with the m centres that moved most (the movers); its lower bound then
// falls only by the largest shift of the rest. Rows that still fail are
// computed against all k as before. Which m (0: none) is estimated on the
// failing rows of a fixed sample with a cost model; bounds stay valid for
// any m, so labels never depend on it.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "core/work_team.hpp"

namespace stray::internal {

struct MoverPlan {
  using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  int64_t m = 0;             // movers; 0: plain Hamerly for this call
  std::vector<int32_t> ids;  // [m] the movers, farthest first
  RowMajorF centres;         // [m x d] their rows
  std::vector<float> norms;  // [m] their ‖c‖²
  // The largest shift of any centre that is not a mover, which centre that
  // is, and the second largest (rounded up as the bounds need them).
  int32_t rest_argmax = -1;
  float rest_largest = 0.0f, rest_second = 0.0f;
};

/// What the movers read (and settle_by_movers writes) about all rows and
/// centres: the bounds as they stand, before this call moves them.
struct MoverRows {
  const float* X;  // [n x d]
  int64_t d;
  const float* C;        // [k x d]
  const float* c_norms;  // [k] ‖c‖²
  float c_norm_max;
  const int32_t* labels;   // [n]
  const float* row_norms;  // [n] ‖x‖²
  const float* half_gap;   // [k]
  float relative_error;    // of the expanded formula, relative to ‖x‖² + max‖c‖²
  float* upper;            // [n]
  float* lower;            // [n]
};

/// The call's centre shifts, for plan_movers.
struct MoverShifts {
  int64_t n, k;
  const double* center_shift;  // [k]
  const float* shift_up;       // [k] the shifts rounded up to float
  bool tile_unit;              // full passes use the tile unit (their cost, for the model)
  WorkTeam* team = nullptr;    // the backend's threads, for the sample's work (null: this one)
};

/// The movers to take out of this call's bounds (m = 0 where plain
/// Hamerly's is estimated cheaper). Depends on the data alone.
MoverPlan plan_movers(const MoverRows& rows, const MoverShifts& shifts);

/// For the rows ids[0, count), whose bounds failed: each row's exact
/// distance to its own centre becomes its upper bound, and the smaller of
/// lower_rest[q] (its lower bound moved by the largest shift of the centres
/// that are not movers) and its distances to the movers its lower bound;
/// failed[q] is set where they still do not settle it. With `vector_kernel`
/// (and AVX-512 present) 16 rows at a time in registers; otherwise through
/// Eigen's GEMM (other CPUs, and tests of both). `scratch` grows as needed.
void settle_by_movers(const MoverPlan& plan, const MoverRows& rows, const int64_t* ids,
                      int64_t count, const float* lower_rest, uint8_t* failed,
                      std::vector<float>& scratch, bool vector_kernel = true);

}  // namespace stray::internal
