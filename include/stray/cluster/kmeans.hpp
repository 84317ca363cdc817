// stray — k-means (Lloyd) with k-means++, random, k-means|| or explicit init.
//
// Follows scikit-learn's KMeans(algorithm="lloyd") where users will compare:
//  - greedy k-means++ with 2 + ⌊ln k⌋ local trials per centre;
//  - `tol` is relative: iterations stop when the squared centre shift summed
//    over clusters is ≤ tol × mean feature variance of X; tol = 0 stops only
//    when no label changes ("strict convergence");
//  - empty clusters are relocated to the points farthest from their centres;
//  - a final assignment pass so labels match the returned centres;
//  - inertia is Σ w_i ‖x_i − c_{label_i}‖² computed directly.
// Differences: random draws come from stray's own generator (not numpy's), so
// k-means++ centres differ from sklearn's for the same seed; data are float32
// with float64 accumulation (sklearn keeps the input dtype).
//
// Thread safety: the functions keep no state between calls and only read
// their inputs; a Backend is used by one thread at a time (core/backend.hpp), so
// concurrent calls each bring their own Backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

enum class KMeansInit {
  kmeans_plus_plus,  // greedy k-means++ (sklearn's default)
  random,            // k distinct rows drawn uniformly (weighted)
  kmeans_parallel,   // k-means|| (Bahmani et al.): a few oversampling rounds
  explicit_centers,  // KMeansParams::initial_centers
};

/// "k-means++" | "random" | "k-means||" | "explicit".
const char* to_string(KMeansInit init);
/// Parses the names above; throws ErrorCode::invalid_argument otherwise.
KMeansInit parse_kmeans_init(const std::string& name);

struct KMeansParams {
  int64_t n_clusters = 8;
  KMeansInit init = KMeansInit::kmeans_plus_plus;
  /// Initial centres [n_clusters x n_features], for init = explicit_centers.
  Matrix<float> initial_centers;
  /// Independent initialisations; the lowest inertia wins. 0 = "auto":
  /// 10 for random init, 1 otherwise (sklearn's n_init="auto").
  int n_init = 0;
  int max_iter = 300;
  double tol = 1e-4;
  uint64_t seed = 0;
  /// k-means||: oversampling rounds and factor (ℓ = factor × k per round).
  int parallel_rounds = 5;
  double parallel_oversampling = 2.0;
  /// k-means||: candidates kept for the weighted re-clustering (subsampled
  /// above this, so init cost stays bounded on huge n).
  int64_t parallel_max_candidates = 20000;
};

/// A fitted k-means: what predicting needs, and the fit's figures. Kept in
/// the fleet model file; KMeansResult is one with the fit's labels.
struct KMeansModel {
  Matrix<float> centers;        // [n_clusters x n_features]
  double inertia = 0.0;         // Σ w_i ‖x_i − c_{label_i}‖² on the training rows
  int n_iter = 0;               // Lloyd iterations of the winning run
  bool converged = false;       // stopped by tol / strict convergence before max_iter
  std::vector<double> cluster_sizes;  // Σ w over each cluster's members [n_clusters]

  int64_t n_clusters() const { return centers.rows(); }
  int64_t n_features() const { return centers.cols(); }
};

struct KMeansResult : KMeansModel {
  std::vector<int32_t> labels;  // [n_samples]
  int best_init = 0;            // which of the n_init runs won
  double seconds = 0.0;         // wall time of the fit (upload included)
};

/// Fits k-means to X [n_samples x n_features]. `sample_weight` [n_samples],
/// optional, non-negative with a positive sum.
KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, MatrixView<const float> X,
                        const std::vector<float>* sample_weight = nullptr);

/// The same fit on X already resident on `backend` (PCA's output, say):
/// nothing of X crosses to the host but the rows initialisation picks. X
/// must stay unchanged during the call; with column means far from zero
/// the fit centres a copy of X first. Equal to the host fit on the same
/// rows wherever X needs no centring.
KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, const DeviceArray<float>& X,
                        const std::vector<float>* sample_weight = nullptr);

/// The same fit on sparse rows X (CSR) [n_samples x n_features], without
/// densifying them: each iteration costs O(nnz · n_clusters) (Backend's
/// "k-means on sparse rows"), as scikit-learn's sparse KMeans. Rows are
/// not centred (that would fill them); distances are taken in float64
/// instead. A row's repeated columns add up; columns need not be sorted.
/// init k-means++, random or explicit centres (k-means|| is for dense
/// rows: ErrorCode::invalid_argument). Every row is assigned each
/// iteration (no pruning).
KMeansResult kmeans_fit(Backend& backend, const KMeansParams& params, const CsrView& X,
                        const std::vector<float>* sample_weight = nullptr);

struct NearestCenters {
  std::vector<int32_t> labels;    // [n_samples] index of the nearest centre
  std::vector<float> sq_distances;  // [n_samples] ‖x − c_label‖², computed directly
};

/// Assigns each row of X [n x d] to its nearest row of `centers` [k x d]
/// and reports the squared distance (the basis of outlier scores).
NearestCenters kmeans_predict(Backend& backend, MatrixView<const float> centers,
                              MatrixView<const float> X);
/// The same with a fitted model's centres.
NearestCenters kmeans_predict(Backend& backend, const KMeansModel& model,
                              MatrixView<const float> X);
/// The same for sparse rows X (CSR), distances as kmeans_fit on sparse
/// rows takes them.
NearestCenters kmeans_predict(Backend& backend, MatrixView<const float> centers, const CsrView& X);
NearestCenters kmeans_predict(Backend& backend, const KMeansModel& model, const CsrView& X);
/// The same on X resident on `backend`.
NearestCenters kmeans_predict(Backend& backend, const KMeansModel& model,
                              const DeviceArray<float>& X);

}  // namespace stray
