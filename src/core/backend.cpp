// The Backend interface's default methods: what a backend gets without
// writing a primitive of its own.
#include "stray/core/backend.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "core/check.hpp"

namespace stray {

namespace {

// The default pruned assignment keeps only the distances nearest_centroid
// writes.
struct DistanceOnlyState final : AssignmentState {
  DeviceArray<float> distances;
};

}  // namespace

std::unique_ptr<AssignmentState> Backend::make_assignment_state() {
  return std::make_unique<DistanceOnlyState>();
}

void Backend::nearest_centroid_pruned(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                      DeviceArray<int32_t>& labels, AssignmentState& state,
                                      const double* center_shift, bool fresh) {
  (void)center_shift;
  (void)fresh;
  auto* own = dynamic_cast<DistanceOnlyState*>(&state);
  internal::require(own != nullptr, ErrorCode::invalid_argument, "nearest_centroid_pruned",
                    "the state was made by another backend");
  if (own->distances.size() != X.rows()) own->distances = allocate<float>(X.rows());
  nearest_centroid(X, C, labels, own->distances);
}

int64_t Backend::count_label_changes(const DeviceArray<int32_t>& current,
                                     DeviceArray<int32_t>& previous) {
  internal::require(current.size() == previous.size(), ErrorCode::shape_mismatch,
                    "count_label_changes", "current has ", current.size(), " labels, previous ",
                    previous.size());
  const std::vector<int32_t> now = download_vector(current);
  const std::vector<int32_t> before = download_vector(previous);
  int64_t changed = 0;
  for (std::size_t i = 0; i < now.size(); ++i) changed += now[i] != before[i];
  if (!now.empty()) copy_to_device(*previous.buffer(), 0, now.data(), now.size() * sizeof(int32_t));
  return changed;
}

namespace {

// `a` readable on the host: the backend's memory itself where it is host
// memory, else a downloaded copy in `copy`.
template <typename T>
const T* host_readable(Backend& be, const DeviceArray<T>& a, std::vector<T>& copy) {
  if (be.shares_host_memory() || a.empty()) return a.data();
  copy = be.download_vector(a);
  return copy.data();
}

// The first i in [0, n) with above(i) true (n if none), for a predicate
// that is false then true along i: std::upper_bound/lower_bound's answer.
template <typename Above>
int64_t first_true(int64_t n, Above above) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (above(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

}  // namespace

// The k-means++ initialisation's own loop, moved behind the interface: the
// same products and the same order of additions, so results do not change.
double Backend::cumulative_mass(const DeviceArray<float>& mass, const DeviceArray<float>* weights,
                                DeviceArray<double>& cumulative) {
  const int64_t n = mass.size();
  internal::require(cumulative.size() == n && (weights == nullptr || weights->size() == n),
                    ErrorCode::shape_mismatch, "cumulative_mass", "mass has ", n,
                    " entries, cumulative ", cumulative.size(), ", weights ",
                    weights ? weights->size() : n);
  std::vector<float> mass_copy, weight_copy;
  const float* m = host_readable(*this, mass, mass_copy);
  const float* w = weights ? host_readable(*this, *weights, weight_copy) : nullptr;
  std::vector<double> own;
  double* out = cumulative.data();
  if (!shares_host_memory()) {
    own.resize(static_cast<std::size_t>(n));
    out = own.data();
  }
  double running = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    running += (w ? static_cast<double>(w[i]) : 1.0) * m[i];
    out[i] = running;
  }
  if (!own.empty()) copy_to_device(*cumulative.buffer(), 0, own.data(), own.size() * sizeof(double));
  return running;
}

void Backend::draw_from_cumulative(const DeviceArray<double>& cumulative, const double* targets,
                                   int64_t count, int64_t* rows) {
  const int64_t n = cumulative.size();
  internal::require(count <= 0 || n > 0, ErrorCode::invalid_argument, "draw_from_cumulative",
                    "no rows to draw from");
  const auto at = [&](int64_t i) {
    double v = 0.0;
    copy_to_host(&v, *cumulative.buffer(), static_cast<std::size_t>(i) * sizeof(double),
                 sizeof(double));
    return v;
  };
  for (int64_t t = 0; t < count; ++t) {
    const double target = targets[t];
    int64_t row = first_true(n, [&](int64_t i) { return at(i) > target; });
    if (row == n) {
      // Rounding left target >= total: take the first row that reaches it.
      const double total = at(n - 1);
      row = first_true(n, [&](int64_t i) { return at(i) >= total; });
    }
    rows[t] = row;
  }
}

int64_t Backend::symmetric_eigen_counted(int64_t d, const double* A,
                                         const std::function<int64_t(const double*)>& count,
                                         double* eigenvalues, std::vector<double>& top_vectors) {
  internal::require(d >= 0, ErrorCode::invalid_argument, "symmetric_eigen_counted", "d=", d);
  std::vector<double> all(static_cast<std::size_t>(d * d));
  symmetric_eigen(d, A, eigenvalues, all.data());
  const int64_t k = count(eigenvalues);
  internal::require(k >= 0 && k <= d, ErrorCode::invalid_argument, "symmetric_eigen_counted",
                    "the count must lie in [0, d=", d, "], got ", k);
  top_vectors.resize(static_cast<std::size_t>(k * d));
  for (int64_t c = 0; c < k; ++c)
    for (int64_t j = 0; j < d; ++j) top_vectors[c * d + j] = all[j * d + (d - 1 - c)];
  return k;
}

// Via the eigenvectors W of the small Gram ZᵀZ [l x l] (U = Z·W·Σ⁻¹),
// exact enough while the kept singular values are within 1e-4 of the
// largest (squaring costs (σ1/σk)² in relative accuracy: ≤ 1e-8 here);
// otherwise, and for degenerate data, a direct SVD of Z.
void Backend::thin_svd(const DeviceArray<float>& Z, int64_t k, double* values, double* vectors) {
  const char* where = "thin_svd";
  const int64_t m = Z.rows(), l = Z.cols();
  internal::require(k >= 1 && k <= l && l <= m, ErrorCode::invalid_argument, where,
                    "needs m >= l >= k >= 1, got m=", m, ", l=", l, ", k=", k);
  const Matrix<float> host = download(Z);
  const Eigen::MatrixXd z =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          host.data(), m, l)
          .cast<double>();
  internal::require(z.allFinite(), ErrorCode::non_finite_input, where,
                    "the projected matrix is not finite: ", internal::kProductsOverflow);
  Eigen::VectorXd S(l);
  Eigen::MatrixXd U;
  bool via_gram = false;
  {
    const Eigen::MatrixXd G = z.transpose() * z;
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(G);
    if (es.info() == Eigen::Success) {
      const Eigen::VectorXd ev = es.eigenvalues().reverse();  // descending
      const double top = ev(0);
      if (top > 0.0 && ev(k - 1) >= 1e-8 * top) {
        const Eigen::MatrixXd W = es.eigenvectors().rowwise().reverse().leftCols(k);
        for (int64_t c = 0; c < l; ++c) S(c) = std::sqrt(std::max(0.0, ev(c)));
        U = z * W;
        for (int64_t c = 0; c < k; ++c) U.col(c) /= S(c);
        via_gram = true;
      }
    }
  }
  if (!via_gram) {
    Eigen::BDCSVD<Eigen::MatrixXd> svd(z, Eigen::ComputeThinU);
    internal::require(svd.info() == Eigen::Success, ErrorCode::device_error, where,
                      "SVD of the projected matrix failed");
    S = svd.singularValues();
    U = svd.matrixU().leftCols(k);  // descending singular values
  }
  for (int64_t c = 0; c < k; ++c) {
    values[c] = S(c);
    for (int64_t j = 0; j < m; ++j) vectors[c * m + j] = U(j, c);
  }
}

DeviceCsr Backend::borrow_or_upload_csr(const CsrView& host) {
  if (!shares_host_memory()) return upload_csr(host);
  internal::check_csr_arrays(host, "borrow_or_upload_csr");
  DeviceCsr out;
  out.rows = host.rows;
  out.cols = host.cols;
  out.nnz = host.nnz();
  // Views, as borrow_or_upload makes them: nothing is copied.
  const auto view = [](const auto* data, int64_t count) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
    return DeviceArray<T>(std::make_unique<BorrowedHostBuffer>(
                              data, static_cast<std::size_t>(count) * sizeof(T)),
                          count, 1);
  };
  out.indptr = view(host.indptr, host.rows + 1);
  out.indices = view(host.indices, out.nnz);
  out.values = view(host.values, out.nnz);
  return out;
}

}  // namespace stray
