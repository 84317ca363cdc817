#include "stray/synthetic/datasets.hpp"

#include "core/check.hpp"
#include "core/rng.hpp"

namespace stray {

Blobs make_blobs(const BlobsParams& p) {
  const char* where = "make_blobs";
  internal::require(p.n_samples >= 1 && p.n_features >= 1 && p.n_centers >= 1,
                    ErrorCode::invalid_argument, where, "n_samples=", p.n_samples,
                    ", n_features=", p.n_features, ", n_centers=", p.n_centers,
                    " must all be >= 1");
  internal::require(p.cluster_std >= 0.0 && p.center_box > 0.0, ErrorCode::invalid_argument,
                    where, "cluster_std=", p.cluster_std, " must be >= 0 and center_box=",
                    p.center_box, " > 0");
  internal::Rng rng(p.seed);
  Blobs out;
  out.centers = Matrix<float>(p.n_centers, p.n_features);
  for (int64_t c = 0; c < p.n_centers; ++c) {
    for (int64_t j = 0; j < p.n_features; ++j) {
      out.centers(c, j) = static_cast<float>((2.0 * rng.uniform() - 1.0) * p.center_box);
    }
  }
  // Shuffled round-robin membership keeps blob sizes within one of each other.
  out.labels.resize(static_cast<std::size_t>(p.n_samples));
  for (int64_t i = 0; i < p.n_samples; ++i) out.labels[i] = static_cast<int32_t>(i % p.n_centers);
  for (int64_t i = p.n_samples - 1; i > 0; --i) {
    std::swap(out.labels[i], out.labels[rng.below(static_cast<uint64_t>(i) + 1)]);
  }
  out.X = Matrix<float>(p.n_samples, p.n_features);
  for (int64_t i = 0; i < p.n_samples; ++i) {
    const float* centre = out.centers.row(out.labels[i]);
    float* row = out.X.row(i);
    for (int64_t j = 0; j < p.n_features; ++j) {
      row[j] = static_cast<float>(centre[j] + p.cluster_std * rng.normal());
    }
  }
  return out;
}

}  // namespace stray
