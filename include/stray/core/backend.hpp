// stray — the backend seam.
//
// Algorithms (k-means, PCA, ...) are written once against this interface;
// a backend holds the data and does the heavy arithmetic. Primitives are
// coarse — one call per pass over the data or per tile batch, never per
// element — so the virtual call costs nothing. Data stays resident on the
// backend between calls; only small results (k×d sums, d×d Gram matrices,
// per-candidate potentials) come back to the host as float64.
//
// Shapes are written [rows x cols]; every array is row-major and contiguous.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stray/core/backend_options.hpp"
#include "stray/core/error.hpp"
#include "stray/core/matrix.hpp"

namespace stray {

/// Memory owned by a backend (host memory for "cpu", device memory for "cuda").
class DeviceBuffer {
 public:
  virtual ~DeviceBuffer() = default;
  virtual void* data() = 0;
  virtual const void* data() const = 0;
  virtual std::size_t bytes() const = 0;
  /// Where the memory lives: "host", or "cuda:<device>". A backend reads
  /// only buffers of its own space (Backend::memory_space) and refuses any
  /// other with ErrorCode::invalid_argument: a device pointer is never read
  /// as host memory.
  virtual std::string memory_space() const = 0;
};

/// Host memory lent to a backend that shares it (Backend::shares_host_memory):
/// a view, not a copy. It owns nothing; the host data must outlive it, and
/// nothing may be written through it (data() is non-const only because
/// DeviceBuffer's is).
class BorrowedHostBuffer final : public DeviceBuffer {
 public:
  BorrowedHostBuffer(const void* data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  void* data() override { return const_cast<void*>(data_); }
  const void* data() const override { return data_; }
  std::size_t bytes() const override { return bytes_; }
  std::string memory_space() const override { return "host"; }

 private:
  const void* data_;
  std::size_t bytes_;
};

/// A typed, contiguous row-major array in backend memory: [rows x cols]
/// (a vector is [n x 1]). Move-only; frees its memory on destruction.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(std::unique_ptr<DeviceBuffer> buffer, int64_t rows, int64_t cols)
      : buffer_(std::move(buffer)), rows_(rows), cols_(cols) {}

  T* data() { return buffer_ ? static_cast<T*>(buffer_->data()) : nullptr; }
  const T* data() const { return buffer_ ? static_cast<const T*>(buffer_->data()) : nullptr; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  bool empty() const { return size() == 0; }
  std::size_t bytes() const { return static_cast<std::size_t>(size()) * sizeof(T); }
  DeviceBuffer* buffer() { return buffer_.get(); }
  const DeviceBuffer* buffer() const { return buffer_.get(); }

 private:
  std::unique_ptr<DeviceBuffer> buffer_;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
};

/// CSR matrix resident on a backend (see CsrView for the layout).
struct DeviceCsr {
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t nnz = 0;
  DeviceArray<int64_t> indptr;   // [rows + 1]
  DeviceArray<int32_t> indices;  // [nnz]
  DeviceArray<float> values;     // [nnz]
};

/// Per-cluster feature profiles, for scoring rows against their cluster's
/// peers feature by feature (Backend::csr_profile_scores). Host arrays.
struct ClusterProfiles {
  int64_t k = 0, d = 0;
  const double* mean = nullptr;     // [k x d] members' mean of each feature
  const double* sq_mean = nullptr;  // [k x d] members' mean of its square
  const double* scale = nullptr;    // [d] the feature's mean square where stored (floor unit)
  const int64_t* sizes = nullptr;   // [k] members per cluster
  /// Divide each squared difference by the peers' variance plus
  /// variance_floor · scale[j]; false: plain squared differences.
  bool standardized = true;
  double variance_floor = 0.0;
  /// Standardized only: with shrinkage m > 0 each cluster's variance over
  /// its n peers becomes (n·σ² + m·prior_variance[j]) / (n + m); 0 = off.
  double shrinkage = 0.0;
  const double* prior_variance = nullptr;  // [d]; needed when shrinkage > 0
};

/// What a backend keeps between calls of nearest_centroid_pruned on the
/// same X (distance bounds, say). Made by Backend::make_assignment_state;
/// its contents are the backend's own, and callers only keep it alive.
class AssignmentState {
 public:
  virtual ~AssignmentState() = default;
};

/// A backend is not thread-safe: use one per thread (they are cheap to make
/// on the CPU; on CUDA each owns a stream and library handles).
class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  /// "cpu" or "cuda".
  virtual std::string name() const = 0;
  /// Human-readable device, e.g. "2 threads" (CPU) or "NVIDIA H100 (sm_90)".
  virtual std::string device_description() const = 0;
  /// The budget for temporary tiles (BackendOptions::workspace_bytes).
  virtual std::size_t workspace_bytes() const = 0;
  /// The memory space of this backend's buffers (DeviceBuffer::memory_space).
  virtual std::string memory_space() const = 0;
  /// A backend on the same device with the same settings, for many small
  /// calls (choosing k fits dozens of small k-means): each primitive then
  /// runs on a single worker where this one would fan out and join per call.
  /// Results equal this backend's (no primitive's result depends on the
  /// number of workers).
  virtual std::unique_ptr<Backend> make_serial() const = 0;

  // ---- memory -------------------------------------------------------------
  virtual std::unique_ptr<DeviceBuffer> allocate_bytes(std::size_t bytes) = 0;
  /// Returns once `src` has been read (the host buffer may be reused).
  virtual void copy_to_device(DeviceBuffer& dst, std::size_t dst_offset, const void* src,
                              std::size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const DeviceBuffer& src, std::size_t src_offset,
                            std::size_t bytes) = 0;
  /// Waits for all queued work (a no-op on the CPU).
  virtual void synchronize() = 0;
  /// True when backend memory is ordinary host memory (the CPU backend), so
  /// host data can be read in place (see borrow_or_upload).
  virtual bool shares_host_memory() const { return false; }
  /// Threads for the library's host steps that run beside this backend
  /// (feature building, input checks: OpenMP loops) in the fleet pipeline:
  /// the CPU backend's own count, so a host that asks it for one thread gets
  /// one everywhere; 0 (the default) leaves OpenMP's count.
  virtual int host_threads() const { return 0; }

  template <typename T>
  DeviceArray<T> allocate(int64_t rows, int64_t cols = 1) {
    const int64_t n = checked_mul(rows, cols, "Backend::allocate");
    return DeviceArray<T>(allocate_bytes(static_cast<std::size_t>(n) * sizeof(T)), rows, cols);
  }
  /// Copies a host matrix (strided rows are packed) into backend memory.
  template <typename T>
  DeviceArray<T> upload(MatrixView<const T> host) {
    DeviceArray<T> out = allocate<T>(host.rows(), host.cols());
    if (host.empty()) return out;
    if (host.contiguous()) {
      copy_to_device(*out.buffer(), 0, host.data(), out.bytes());
    } else {
      const std::size_t row_bytes = static_cast<std::size_t>(host.cols()) * sizeof(T);
      for (int64_t i = 0; i < host.rows(); ++i) {
        copy_to_device(*out.buffer(), static_cast<std::size_t>(i) * row_bytes, host.row(i),
                       row_bytes);
      }
    }
    return out;
  }
  /// `host` as a backend array to be read only: a view of the host data
  /// themselves when the backend shares host memory and `host` is
  /// contiguous (no copy), otherwise an upload. A view must not outlive the
  /// host data, and neither it nor the host data may be written while it
  /// is in use; treat the result as const.
  template <typename T>
  DeviceArray<T> borrow_or_upload(MatrixView<const T> host) {
    if (!shares_host_memory() || !host.contiguous() || host.empty()) return upload(host);
    const std::size_t bytes = static_cast<std::size_t>(host.size()) * sizeof(T);
    return DeviceArray<T>(std::make_unique<BorrowedHostBuffer>(host.data(), bytes), host.rows(),
                          host.cols());
  }
  template <typename T>
  DeviceArray<T> upload(MatrixView<T> host) {
    return upload(MatrixView<const T>(host));
  }
  template <typename T>
  DeviceArray<T> upload(const Matrix<T>& host) {
    return upload(host.view());
  }
  template <typename T>
  DeviceArray<T> upload(const std::vector<T>& host) {
    return upload(MatrixView<const T>(host.data(), static_cast<int64_t>(host.size()), 1));
  }
  template <typename T>
  void download(const DeviceArray<T>& src, T* dst) {
    if (!src.empty()) copy_to_host(dst, *src.buffer(), 0, src.bytes());
  }
  template <typename T>
  Matrix<T> download(const DeviceArray<T>& src) {
    Matrix<T> out(src.rows(), src.cols());
    download(src, out.data());
    return out;
  }
  template <typename T>
  std::vector<T> download_vector(const DeviceArray<T>& src) {
    std::vector<T> out(static_cast<std::size_t>(src.size()));
    download(src, out.data());
    return out;
  }

  // ---- statistics ---------------------------------------------------------
  /// Column means and population variances of X [n x d], accumulated in
  /// float64 in a fixed order. `weights` [n] may be null (all ones).
  /// `mean`, `var`: host arrays [d].
  virtual void column_stats(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                            double* mean, double* var) = 0;
  /// X[i, :] -= shift for every row, in place. `shift`: host [d].
  virtual void subtract_row_vector(DeviceArray<float>& X, const double* shift) = 0;
  /// upload(host) then subtract_row_vector(·, shift), with the same result;
  /// a backend may do both in one pass.
  virtual DeviceArray<float> upload_shifted(MatrixView<const float> host, const double* shift) {
    DeviceArray<float> X = upload(host);
    subtract_row_vector(X, shift);
    return X;
  }
  /// A new array: X [n x d] less `shift` (host [d]) from every row, as
  /// upload_shifted computes it. The default goes through the host.
  virtual DeviceArray<float> copy_shifted(const DeviceArray<float>& X, const double* shift) {
    const Matrix<float> host = download(X);
    return upload_shifted(host.view(), shift);
  }

  // ---- k-means ------------------------------------------------------------
  /// For each row of X [n x d], the index of its nearest row of C [k x d]
  /// (ties to the lower index) into `labels` [n], and the squared distance
  /// into `min_sq_dist` [n] (expanded ‖x‖²+‖c‖²−2x·c, clamped at 0). Fused
  /// over tiles sized from the workspace budget: no n×k matrix is stored.
  virtual void nearest_centroid(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                DeviceArray<int32_t>& labels, DeviceArray<float>& min_sq_dist) = 0;
  /// State for nearest_centroid_pruned, to be kept by the caller between
  /// calls on the same X. The default holds a distance buffer only.
  virtual std::unique_ptr<AssignmentState> make_assignment_state();
  /// The same assignment as nearest_centroid, allowed to skip rows whose
  /// distance bounds prove the label unchanged (an exact acceleration of
  /// Lloyd, such as Hamerly's). `state`, from make_assignment_state, carries
  /// what the backend keeps between calls on the same X. `center_shift`
  /// (host [k]) is how far each centre moved (Euclidean) since the previous
  /// call. `fresh` = true computes every row and resets `state` (first
  /// call, or after centres were replaced). The default computes every row
  /// every time, which is right where brute force is cheapest.
  virtual void nearest_centroid_pruned(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                       DeviceArray<int32_t>& labels, AssignmentState& state,
                                       const double* center_shift, bool fresh);
  /// Per-cluster weighted sums `sums` (host [k x d]) and weights `counts`
  /// (host [k]) in float64, summed in an order fixed by the data's shape
  /// alone, so results are identical run to run and across thread counts.
  /// Labels outside [0, k) are an error.
  virtual void accumulate_centroids(const DeviceArray<float>& X, const DeviceArray<int32_t>& labels,
                                    const DeviceArray<float>* weights, int64_t k, double* sums,
                                    double* counts) = 0;
  /// Brings per-cluster sums and weights (host, float64) from one labeling
  /// to the next: on entry they hold accumulate_centroids' result for
  /// `previous` [n]; on return, for `current` [n] (both backend arrays).
  /// Only rows whose label changed need touching, which late Lloyd
  /// iterations make cheap; the default recomputes from scratch with
  /// accumulate_centroids.
  virtual void update_centroid_sums(const DeviceArray<float>& X,
                                    const DeviceArray<int32_t>& previous,
                                    const DeviceArray<int32_t>& current,
                                    const DeviceArray<float>* weights, int64_t k, double* sums,
                                    double* counts) {
    (void)previous;
    accumulate_centroids(X, current, weights, k, sums, counts);
  }
  /// How many entries of `current` [n] differ from `previous` [n]; then
  /// `previous` becomes a copy of `current`. Lets a Lloyd loop test for a
  /// fixed point without bringing n labels to the host. The default
  /// downloads both.
  virtual int64_t count_label_changes(const DeviceArray<int32_t>& current,
                                      DeviceArray<int32_t>& previous);
  /// out[i] = ‖x_i − C[labels_i]‖², computed directly (difference, then
  /// square) with float64 accumulation of the squares; the difference may
  /// be taken in float32 (within 2⁻²⁴ of exact). Used for inertia and
  /// outlier scores.
  virtual void assigned_sq_distances(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                     const DeviceArray<int32_t>& labels,
                                     DeviceArray<float>& out) = 0;
  /// Σ_i w_i ‖x_i − C[labels_i]‖² (the inertia), each term as
  /// assigned_sq_distances computes it, summed in float64 in an order fixed
  /// by the data's shape. `weights` may be null (all 1). The default runs
  /// assigned_sq_distances and sums on the host.
  virtual double assigned_inertia(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                  const DeviceArray<int32_t>& labels,
                                  const DeviceArray<float>* weights) {
    DeviceArray<float> dist = allocate<float>(X.rows());
    assigned_sq_distances(X, C, labels, dist);
    const std::vector<float> d = download_vector(dist);
    const std::vector<float> w = weights ? download_vector(*weights) : std::vector<float>();
    double total = 0.0;
    for (std::size_t i = 0; i < d.size(); ++i) total += (w.empty() ? 1.0 : w[i]) * d[i];
    return total;
  }
  /// closest[i] = min(closest[i], min_j ‖x_i − C_j‖²) over the rows of C.
  virtual void update_closest(const DeviceArray<float>& X, const DeviceArray<float>& C,
                              DeviceArray<float>& closest) = 0;
  /// For each candidate row c_j of C [t x d] (t small, k-means++ trials):
  /// potentials[j] = Σ_i w_i · min(closest_i, ‖x_i − c_j‖²), float64, host [t].
  virtual void candidate_potentials(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                                    const DeviceArray<float>& closest, const DeviceArray<float>& C,
                                    double* potentials) = 0;
  /// out[i] = ‖x_i‖² for the rows of X [n x d] (out [n]). The default is
  /// assigned_sq_distances to a zero centre.
  virtual void row_sq_norms(const DeviceArray<float>& X, DeviceArray<float>& out) {
    const std::vector<float> zero(static_cast<std::size_t>(X.cols()), 0.0f);
    const DeviceArray<float> origin = upload(MatrixView<const float>(zero.data(), 1, X.cols()));
    const DeviceArray<int32_t> labels =
        upload(std::vector<int32_t>(static_cast<std::size_t>(X.rows()), 0));
    assigned_sq_distances(X, origin, labels, out);
  }
  /// One greedy k-means++ step: candidate_potentials for the rows of C
  /// [t x d], then closest updated (update_closest) with the candidate of
  /// lowest potential (ties: the lower index), whose index is returned. The
  /// default makes the two calls (two passes over X); a backend may keep
  /// each row's distances to the candidates from the first pass instead.
  /// `x_sq_norms` [n], from row_sq_norms, may be null; an initialisation
  /// makes ~k steps over the same X, and a backend may use them instead of
  /// recomputing the norms in every step (the default ignores them).
  virtual int64_t kmeanspp_step(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                                DeviceArray<float>& closest, const DeviceArray<float>& C,
                                double* potentials, const DeviceArray<float>* x_sq_norms) {
    (void)x_sq_norms;
    if (C.rows() == 0) throw Error(ErrorCode::invalid_argument, "kmeanspp_step: no candidates");
    candidate_potentials(X, weights, closest, C, potentials);
    const int64_t t = C.rows(), d = C.cols();
    int64_t best = 0;
    for (int64_t j = 1; j < t; ++j)
      if (potentials[j] < potentials[best]) best = j;
    std::vector<float> row(static_cast<std::size_t>(d));
    copy_to_host(row.data(), *C.buffer(), static_cast<std::size_t>(best * d) * sizeof(float),
                 row.size() * sizeof(float));
    update_closest(X, upload(MatrixView<const float>(row.data(), 1, d)), closest);
    return best;
  }
  /// Inverse-CDF (D²) sampling for k-means++, in two calls so that the
  /// random draws stay with the caller's generator. First the running
  /// float64 sums cumulative[i] = Σ_{r ≤ i} w_r·mass_r over `mass` [n]
  /// (`weights` [n] may be null: all 1), into `cumulative` (backend
  /// [n]); returns the total, cumulative[n−1] (0 for n = 0). The sums are
  /// non-decreasing, and a row with w·mass = 0 repeats its predecessor's
  /// sum exactly (a row of mass 0 at the start has sum 0), so such a row is
  /// never drawn. The default sums on the host in row order; a backend may
  /// add in another order fixed by n alone.
  virtual double cumulative_mass(const DeviceArray<float>& mass, const DeviceArray<float>* weights,
                                 DeviceArray<double>& cumulative);
  /// Then, for each of `count` host targets (0 ≤ target ≤ total): the
  /// first row whose running sum exceeds it, or, where rounding left none,
  /// the first row that reaches the total; into `rows` (host [count]).
  /// Requires a non-empty `cumulative` when count > 0. The default reads
  /// the ~log n entries its binary search needs.
  virtual void draw_from_cumulative(const DeviceArray<double>& cumulative, const double* targets,
                                    int64_t count, int64_t* rows);

  // ---- k-means on sparse rows ---------------------------------------------
  // Rows of A [n x d] must be canonical: no column stored twice in a row
  // (kmeans_fit on a CsrView sums repeats first). A squared distance is
  // defined once for every backend, in float64 with exact products (float32
  // times float32), so every backend gives the same bits:
  //   (‖x‖² + ‖c‖²) − 2·x·c, clamped at 0,
  // ‖x‖² and x·c summed over the row's stored entries in stored order, ‖c‖²
  // over the features in order. Cost O(nnz · rows of C); nothing is
  // densified.

  /// For each row of A, the nearest row of C [k x d] (ties to the lower
  /// index) into `labels` [n] and its squared distance into `min_sq_dist`
  /// [n] (backend arrays).
  virtual void csr_nearest_centroid(const DeviceCsr& A, const DeviceArray<float>& C,
                                    DeviceArray<int32_t>& labels,
                                    DeviceArray<float>& min_sq_dist) = 0;
  /// out [n x t] (backend array): the squared distance of each row of A to
  /// each row of C [t x d] (k-means++ trials, transform).
  virtual void csr_sq_distances(const DeviceCsr& A, const DeviceArray<float>& C,
                                DeviceArray<float>& out) = 0;
  /// Per-cluster weighted sums of the rows, Σ w_i x_i, into host `sums`
  /// [k x d] and the weights Σ w_i into host `counts` [k], float64, summed
  /// in row order (each product w·x exact), so every backend gives the
  /// same bits. `labels` [n] (backend) in [0, k); `weights` may be null.
  virtual void csr_centroid_sums(const DeviceCsr& A, const DeviceArray<int32_t>& labels,
                                 const DeviceArray<float>* weights, int64_t k, double* sums,
                                 double* counts) = 0;

  // ---- per-cluster profiles of sparse rows (fleet scores) -----------------
  /// For A [n x d] and host labels [n] in [0, k): per cluster and feature,
  /// the sum of the stored values, of their squares, and how many are
  /// stored, into host arrays [k x d] (float64, summed in an order fixed by
  /// the data, so results repeat run to run and across thread counts).
  virtual void csr_cluster_sums(const DeviceCsr& A, const int32_t* labels, int64_t k,
                                double* sums, double* sq_sums, double* stored) = 0;
  /// out[i] (host [n]) = Σ_j over all d features (zeros included) of row
  /// i's squared difference from cluster reference[i]'s profile (divided
  /// by its variance plus the floor when standardized). Where leave_out[i]
  /// (host [n], may be null) is set and the cluster has more than one
  /// member, row i is taken out of its own cluster's mean and mean square
  /// first. Clamped at 0.
  virtual void csr_profile_scores(const DeviceCsr& A, const ClusterProfiles& profiles,
                                  const int32_t* reference, const uint8_t* leave_out,
                                  float* out) = 0;

  // ---- linear algebra (PCA) -----------------------------------------------
  /// G = Σ_i w_i (x_i − s)(x_i − s)ᵀ over the rows of X [n x d] with shift
  /// s (host [d]); float64 result, full symmetric, host [d x d]. `weights`
  /// may be null.
  virtual void gram(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                    const double* shift, double* out) = 0;
  /// gram without weights, plus the column sums of the shifted rows,
  /// Σ_i (x_i − s), into `sums` (host [d], float64). Then any shift near
  /// the mean will do: with δ = sums / n the mean is s + δ and the scatter
  /// about it G − n·δδᵀ (in float64), from one pass over X; the rounding
  /// error grows by the factor 1 + δ²/var per column. NaN or Inf in X make
  /// `sums` non-finite. The default runs column_stats, then gram.
  virtual void gram_with_sums(const DeviceArray<float>& X, const double* shift, double* out,
                              double* sums) {
    const int64_t n = X.rows(), d = X.cols();
    std::vector<double> mean(static_cast<std::size_t>(d), 0.0), var(mean);
    if (n > 0) column_stats(X, nullptr, mean.data(), var.data());
    for (int64_t j = 0; j < d; ++j) sums[j] = (mean[j] - shift[j]) * static_cast<double>(n);
    gram(X, nullptr, shift, out);
  }
  /// C = alpha · op(A) · op(B) + beta · C on row-major float32 arrays, where
  /// op(M) is M or Mᵀ. C must not alias A or B.
  virtual void gemm(bool transpose_a, bool transpose_b, float alpha, const DeviceArray<float>& A,
                    const DeviceArray<float>& B, float beta, DeviceArray<float>& C) = 0;
  /// Replaces A [n x l] (n ≥ l) by an orthonormal basis of its column
  /// space (thin QR's Q).
  virtual void orthonormalize_columns(DeviceArray<float>& A) = 0;
  /// Symmetric eigendecomposition of host A [d x d] (float64): eigenvalues
  /// ascending into `eigenvalues` [d], unit eigenvectors as the columns of
  /// `eigenvectors` [d x d] (row-major).
  virtual void symmetric_eigen(int64_t d, const double* A, double* eigenvalues,
                               double* eigenvectors) = 0;
  /// The k largest eigenvalues of host A [d x d] (symmetric, float64, such
  /// as a covariance), descending, into `values` [k], and their unit
  /// eigenvectors into `vectors` [k x d] (row-major), by a method that
  /// forms nothing but those: the other d − k eigenvalues are not computed
  /// (a covariance's sum of them is its trace less these). Each pair's
  /// residual ‖Av − λv‖ is at rounding level (below 1e-11·‖A‖, or ~d·10⁻¹³
  /// ·‖A‖ from a tridiagonal form). Returns false, writing nothing, where
  /// the backend has no such method or declines the shape (k = 0, k = d,
  /// tiny d); callers then use symmetric_eigen_top. The default returns
  /// false.
  virtual bool symmetric_eigen_largest(int64_t d, const double* A, int64_t k, double* values,
                                       double* vectors) {
    (void)d, (void)A, (void)k, (void)values, (void)vectors;
    return false;
  }
  /// As symmetric_eigen, with the eigenvectors of the k largest eigenvalues
  /// only: all d eigenvalues ascending into `eigenvalues` [d]; into
  /// `top_vectors` [k x d] (row-major) the unit eigenvector of the largest
  /// eigenvalue, then the next largest, ... (0 ≤ k ≤ d). Equal eigenvalues
  /// get an orthonormal basis of their eigenspace, as from symmetric_eigen.
  /// The default runs symmetric_eigen.
  virtual void symmetric_eigen_top(int64_t d, const double* A, int64_t k, double* eigenvalues,
                                   double* top_vectors) {
    std::vector<double> all(static_cast<std::size_t>(d * d));
    symmetric_eigen(d, A, eigenvalues, all.data());
    for (int64_t c = 0; c < k; ++c)
      for (int64_t j = 0; j < d; ++j) top_vectors[c * d + j] = all[j * d + (d - 1 - c)];
  }
  /// As symmetric_eigen_top, with k decided by the spectrum: `count` is
  /// given all d eigenvalues (ascending) and returns k (0 ≤ k ≤ d; anything
  /// else throws invalid_argument); the vectors of the k largest go into
  /// `top_vectors`, resized to [k x d]. Returns k. Made for PCA's variance
  /// fraction, whose count is known only from the eigenvalues: the CPU
  /// backend reduces A once for both. The default runs symmetric_eigen.
  virtual int64_t symmetric_eigen_counted(int64_t d, const double* A,
                                          const std::function<int64_t(const double*)>& count,
                                          double* eigenvalues, std::vector<double>& top_vectors);

  /// The k largest singular values of Z [m x l] (m ≥ l ≥ k ≥ 1; float32
  /// data, float64 arithmetic), descending, into `values` [k], and their
  /// left singular vectors as the rows of `vectors` [k x m] (row-major). A
  /// small dense step (l is a few dozen): the default downloads Z and
  /// solves on the host (docs/architecture.md, "Host steps").
  virtual void thin_svd(const DeviceArray<float>& Z, int64_t k, double* values, double* vectors);

  // ---- sparse -------------------------------------------------------------
  /// Copies a validated host CSR matrix to the backend.
  virtual DeviceCsr upload_csr(const CsrView& host) = 0;
  /// `host` as a backend CSR to be read only: views of the host arrays
  /// themselves where the backend shares host memory (no copy), otherwise
  /// upload_csr. As with borrow_or_upload, the host arrays must outlive the
  /// result and must not be written while it is in use.
  DeviceCsr borrow_or_upload_csr(const CsrView& host);
  /// Column means and population variances of a CSR matrix (zeros count).
  virtual void csr_column_stats(const DeviceCsr& A, double* mean, double* var) = 0;
  /// Rows [begin, begin + out.rows()) of A as dense rows into `out`
  /// [rows x A.cols] (duplicate entries of a row add up).
  virtual void csr_rows_to_dense(const DeviceCsr& A, int64_t begin, DeviceArray<float>& out) = 0;
  /// C = op(A) · B, A sparse [m x n], B dense; op(A) is A or Aᵀ.
  virtual void spmm(bool transpose_a, const DeviceCsr& A, const DeviceArray<float>& B,
                    DeviceArray<float>& C) = 0;

  // ---- nearest neighbours (docs/neighbors.md) -----------------------------
  /// The exact k nearest rows of `reference` [m x d] for each row of
  /// `queries` [q x d]; with `queries` null the queries are the reference
  /// rows themselves and each row is left out of its own list (q = m).
  /// Outputs (backend arrays, [q x k]): `indices` (reference rows) and
  /// `distances` (Euclidean), ascending.
  ///
  /// The distance is defined once for every backend: the float32 rows are
  /// widened to float64 and s = fma(x_t − y_t, x_t − y_t, s) is summed over
  /// t = 0, 1, ..., d−1 in that order, then the square root taken. The
  /// neighbours are the k smallest (s, index) pairs: equal distances go to
  /// the lower index. Float32 products (distance tiles in GEMM form, or a
  /// tree's bounds) only rule rows out where a bound on their rounding
  /// proves the row cannot be among the k; every row kept is recomputed as
  /// above, so every backend returns the same indices and the same bits.
  ///
  /// Memory: the outputs, centred float32 copies of the rows (m·d + q·d)
  /// and distance tiles within workspace_bytes() (never q×m); time O(q·m·d)
  /// by brute force, less where the backend prunes (the CPU's pruned tiles). Requires 1 ≤ k ≤ m (k ≤ m − 1 with `queries`
  /// null) and equal widths; non-finite rows give unspecified neighbours.
  virtual void knn(const DeviceArray<float>& reference, const DeviceArray<float>* queries,
                   int64_t k, DeviceArray<int64_t>& indices, DeviceArray<double>& distances) = 0;

  /// knn for sparse rows, never densified whole: the exact k nearest rows
  /// of `reference` [m x d] for each row of `queries` [q x d] (null: the
  /// reference rows, each left out of its own list), outputs and ties as
  /// knn. Every row must be canonical (columns strictly increasing within
  /// a row; the library makes a canonical copy where needed).
  ///
  /// The squared distance is defined once for every backend (core/
  /// sparse_distance.hpp): (‖x‖² + ‖y‖²) − 2·x·y in float64, clamped at 0,
  /// each norm summed over the row's entries and x·y over the columns both
  /// rows store, in increasing column order, every product of two float32
  /// values exact — scikit-learn's expanded form for sparse rows, in
  /// float64. The same bits on every backend; d(x, y) = d(y, x); identical
  /// rows are at distance 0. Not knn's bits for the same rows dense: the
  /// expanded form loses about 2⁻⁵²·(‖x‖² + ‖y‖²) where rows are close.
  ///
  /// Memory: the outputs and the backend's temporaries (CPU: the reference
  /// rows by column, 12 bytes a non-zero, and 16 bytes × m per thread;
  /// CUDA: dense query rows within workspace_bytes()). Time: the CPU forms
  /// only the non-zero products (columns both rows store) and takes rows
  /// sharing no column in order of their norms, only while they can enter;
  /// CUDA is brute force, O(q · nnz(reference)). Requires 1 ≤ k ≤ m
  /// (m − 1 with `queries` null) and equal widths.
  virtual void csr_knn(const DeviceCsr& reference, const DeviceCsr* queries, int64_t k,
                       DeviceArray<int64_t>& indices, DeviceArray<double>& distances) = 0;
};

/// Makes a backend by name: "cpu", "cuda", or "auto" (CUDA when a device is
/// present, else CPU; "auto" never fails for lack of a GPU).
/// Throws ErrorCode::backend_unavailable for "cuda" without a usable device.
std::unique_ptr<Backend> make_backend(std::string_view name = "auto",
                                      const BackendOptions& options = {});

/// Names of the backends usable on this machine now ("cpu" first).
std::vector<std::string> available_backends();

/// Names of the backends compiled into this library.
std::vector<std::string> compiled_backends();

/// Why "cuda" is not usable here ("" when it is): not compiled in, no
/// driver, no device, ...
std::string cuda_unavailable_reason();

}  // namespace stray
