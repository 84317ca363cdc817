// The CPU backend: Eigen for the arithmetic, a team of threads of its own
// for the k-means and PCA loops (core/work_team.hpp: they keep their speed
// on a busy machine; OpenMP elsewhere), and the AMX tile unit where the CPU
// has one. "Device" memory is ordinary host
// memory, so upload/download are copies (and read-only host data can be
// borrowed in place).
//
// Its methods are split by concept: cpu_backend.cpp (memory, statistics),
// cpu_kmeans.cpp (distance tiles, centroid sums), cpu_kmeans_pruned.cpp
// (Hamerly's bounds), cpu_kmeans_amx.cpp (distance products on the tile
// unit), cpu_linalg.cpp (Gram, GEMM, QR, eigensolver, sparse products),
// cpu_eigen_top.cpp (the largest eigenpairs only), amx.cpp (whether the
// tile unit may be used), cpu_knn*.cpp (k nearest neighbours: brute force
// and pruned tiles, cpu_knn.hpp), cpu_sparse_kmeans.cpp and
// cpu_sparse_knn.cpp (sparse rows: k-means distances and sums, neighbours).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "core/work_team.hpp"
#include "cpu/cpu_blas.hpp"
#include "stray/core/backend.hpp"

namespace stray::internal {

/// What the CPU's pruned assignment keeps between Lloyd iterations
/// (Hamerly's bounds, cpu_kmeans_pruned.cpp).
struct HamerlyState final : AssignmentState {
  DeviceArray<float> upper;      // [n] bound on the distance to the assigned centre
  DeviceArray<float> lower;      // [n] bound on the distance to any other centre
  DeviceArray<float> row_norms;  // [n] ‖x‖² of each row (X does not change between calls)
  /// Of the rows whose bounds last failed, how many an exact distance to
  /// their own centre then settled: while centres move far, almost none,
  /// and that step is skipped.
  int64_t retried = 0, settled_by_retry = 0;
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(std::size_t workspace_bytes, const CpuOptions& options);

  std::string name() const override { return "cpu"; }
  std::string device_description() const override;
  std::size_t workspace_bytes() const override { return workspace_bytes_; }
  std::string memory_space() const override { return "host"; }
  std::unique_ptr<Backend> make_serial() const override;

  std::unique_ptr<DeviceBuffer> allocate_bytes(std::size_t bytes) override;
  void copy_to_device(DeviceBuffer& dst, std::size_t dst_offset, const void* src,
                      std::size_t bytes) override;
  void copy_to_host(void* dst, const DeviceBuffer& src, std::size_t src_offset,
                    std::size_t bytes) override;
  void synchronize() override {}
  bool shares_host_memory() const override { return true; }

  void column_stats(const DeviceArray<float>& X, const DeviceArray<float>* weights, double* mean,
                    double* var) override;
  void subtract_row_vector(DeviceArray<float>& X, const double* shift) override;
  DeviceArray<float> upload_shifted(MatrixView<const float> host, const double* shift) override;
  DeviceArray<float> copy_shifted(const DeviceArray<float>& X, const double* shift) override;

  void nearest_centroid(const DeviceArray<float>& X, const DeviceArray<float>& C,
                        DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) override;
  void nearest_centroid_pruned(const DeviceArray<float>& X, const DeviceArray<float>& C,
                               DeviceArray<int32_t>& labels, AssignmentState& state,
                               const double* center_shift, bool fresh) override;
  std::unique_ptr<AssignmentState> make_assignment_state() override;
  void accumulate_centroids(const DeviceArray<float>& X, const DeviceArray<int32_t>& labels,
                            const DeviceArray<float>* weights, int64_t k, double* sums,
                            double* counts) override;
  void update_centroid_sums(const DeviceArray<float>& X, const DeviceArray<int32_t>& previous,
                            const DeviceArray<int32_t>& current, const DeviceArray<float>* weights,
                            int64_t k, double* sums, double* counts) override;
  int64_t count_label_changes(const DeviceArray<int32_t>& current,
                              DeviceArray<int32_t>& previous) override;
  void assigned_sq_distances(const DeviceArray<float>& X, const DeviceArray<float>& C,
                             const DeviceArray<int32_t>& labels, DeviceArray<float>& out) override;
  double assigned_inertia(const DeviceArray<float>& X, const DeviceArray<float>& C,
                          const DeviceArray<int32_t>& labels,
                          const DeviceArray<float>* weights) override;
  void update_closest(const DeviceArray<float>& X, const DeviceArray<float>& C,
                      DeviceArray<float>& closest) override;
  void candidate_potentials(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                            const DeviceArray<float>& closest, const DeviceArray<float>& C,
                            double* potentials) override;
  void row_sq_norms(const DeviceArray<float>& X, DeviceArray<float>& out) override;
  int64_t kmeanspp_step(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                        DeviceArray<float>& closest, const DeviceArray<float>& C,
                        double* potentials, const DeviceArray<float>* x_sq_norms) override;

  void gram(const DeviceArray<float>& X, const DeviceArray<float>* weights, const double* shift,
            double* out) override;
  void gram_with_sums(const DeviceArray<float>& X, const double* shift, double* out,
                      double* sums) override;
  void gemm(bool transpose_a, bool transpose_b, float alpha, const DeviceArray<float>& A,
            const DeviceArray<float>& B, float beta, DeviceArray<float>& C) override;
  void orthonormalize_columns(DeviceArray<float>& A) override;
  void symmetric_eigen(int64_t d, const double* A, double* eigenvalues,
                       double* eigenvectors) override;
  bool symmetric_eigen_largest(int64_t d, const double* A, int64_t k, double* values,
                               double* vectors) override;
  void symmetric_eigen_top(int64_t d, const double* A, int64_t k, double* eigenvalues,
                           double* top_vectors) override;
  int64_t symmetric_eigen_counted(int64_t d, const double* A,
                                  const std::function<int64_t(const double*)>& count,
                                  double* eigenvalues, std::vector<double>& top_vectors) override;

  DeviceCsr upload_csr(const CsrView& host) override;
  void csr_column_stats(const DeviceCsr& A, double* mean, double* var) override;
  void csr_rows_to_dense(const DeviceCsr& A, int64_t begin, DeviceArray<float>& out) override;
  void csr_nearest_centroid(const DeviceCsr& A, const DeviceArray<float>& C,
                            DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) override;
  void csr_sq_distances(const DeviceCsr& A, const DeviceArray<float>& C,
                        DeviceArray<float>& out) override;
  void csr_centroid_sums(const DeviceCsr& A, const DeviceArray<int32_t>& labels,
                         const DeviceArray<float>* weights, int64_t k, double* sums,
                         double* counts) override;
  void csr_cluster_sums(const DeviceCsr& A, const int32_t* labels, int64_t k, double* sums,
                        double* sq_sums, double* stored) override;
  void csr_profile_scores(const DeviceCsr& A, const ClusterProfiles& profiles,
                          const int32_t* reference, const uint8_t* leave_out, float* out) override;
  void spmm(bool transpose_a, const DeviceCsr& A, const DeviceArray<float>& B,
            DeviceArray<float>& C) override;

  void knn(const DeviceArray<float>& reference, const DeviceArray<float>* queries, int64_t k,
           DeviceArray<int64_t>& indices, DeviceArray<double>& distances) override;
  void csr_knn(const DeviceCsr& reference, const DeviceCsr* queries, int64_t k,
               DeviceArray<int64_t>& indices, DeviceArray<double>& distances) override;

  /// Worker threads used by parallel loops.
  int threads() const { return threads_; }
  int host_threads() const override { return threads_; }
  /// The backend's own threads (core/work_team.hpp). A backend is used by
  /// one thread at a time, so its team is too.
  WorkTeam& team() const { return *team_; }
  /// fn(begin, end, worker) over [0, n) in blocks of `block_rows` rows
  /// (chosen from the shape, never from the thread count), on the team.
  void for_row_blocks(int64_t n, int64_t block_rows,
                      const std::function<void(int64_t, int64_t, int)>& fn) const;
  /// Rows per block of an element-wise pass over rows of d values: 64 Ki
  /// values (256 KiB of floats), so a helper that is not running holds up
  /// little and the team's hand-offs are few.
  static int64_t elementwise_block_rows(int64_t d) {
    return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(d, 1));
  }
  /// Whether the tile unit may be used (CpuOptions::tile_unit).
  bool tile_unit_allowed() const { return options_.tile_unit; }
  /// LAPACK's tridiagonal reduction, eigenvalues and divide and conquer
  /// where the tuned libraries are on and loaded, else null
  /// (cpu/cpu_blas.hpp).
  SytrdFn sytrd() const { return options_.tuned_blas ? openblas_sytrd() : nullptr; }
  SterfFn sterf() const { return options_.tuned_blas ? openblas_sterf() : nullptr; }
  StedcFn stedc() const { return options_.tuned_blas ? openblas_stedc() : nullptr; }
  /// Throws invalid_argument unless every buffer given (null ones are
  /// skipped) is host memory: an array of another backend (a device
  /// pointer) must never be read here.
  static void require_host(const char* where, std::initializer_list<const DeviceBuffer*> buffers);
  /// Rows per distance tile for k centres, from the workspace budget and
  /// the cache: a tile of X and its k distances stay in L2.
  int64_t distance_tile_rows(int64_t d, int64_t k) const;

 private:
  /// gram's body; `sums` (null, or [d] with w null) receives Σ(x − shift).
  void gram_kernel(const DeviceArray<float>& X, const float* w, const double* shift, double* out,
                   double* sums);

  std::size_t workspace_bytes_;
  CpuOptions options_;
  int threads_ = 1;
  std::unique_ptr<WorkTeam> team_;
};

}  // namespace stray::internal
