// stray — small synthetic datasets for demos, tests and benchmarks.
//
// Thread safety: make_blobs keeps no state (its generator is seeded per
// call); concurrent calls are safe.
#pragma once

#include <cstdint>
#include <vector>

#include "stray/core/matrix.hpp"

namespace stray {

struct BlobsParams {
  int64_t n_samples = 100000;
  int64_t n_features = 16;
  int64_t n_centers = 8;
  double cluster_std = 1.0;
  /// Centres are drawn uniformly in [-center_box, center_box]^d (sklearn's
  /// make_blobs uses 10).
  double center_box = 10.0;
  uint64_t seed = 0;
};

struct Blobs {
  Matrix<float> X;              // [n_samples x n_features]
  std::vector<int32_t> labels;  // [n_samples] true blob of each row
  Matrix<float> centers;        // [n_centers x n_features]
};

/// Isotropic Gaussian blobs, like sklearn.datasets.make_blobs (rows are
/// assigned to blobs round-robin, then shuffled). Deterministic from seed.
Blobs make_blobs(const BlobsParams& params);

}  // namespace stray
