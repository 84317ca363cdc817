// stray — matrix views and owning matrices.
//
// Row-major, entities × features, int64 extents. A view never owns its data;
// `ld` (leading dimension) is the distance in elements between the starts of
// two consecutive rows, so a view can describe a block of a larger matrix.
//
// Thread safety: Matrix and CsrMatrix are values, like std::vector: any
// number of threads may read one, a write needs it to themselves. The free
// functions keep no state.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/core/host_memory.hpp"

namespace stray {

/// Multiplies two non-negative extents, throwing on int64 overflow.
int64_t checked_mul(int64_t a, int64_t b, const char* where);

template <typename T>
class MatrixView {
 public:
  MatrixView() = default;
  /// `ld` < 0 means contiguous rows (ld = cols).
  MatrixView(T* data, int64_t rows, int64_t cols, int64_t ld = -1)
      : data_(data), rows_(rows), cols_(cols), ld_(ld < 0 ? cols : ld) {
    if (rows < 0 || cols < 0) {
      throw Error(ErrorCode::invalid_argument,
                  "MatrixView: negative extent rows=" + std::to_string(rows) +
                      " cols=" + std::to_string(cols));
    }
    if (ld_ < cols_) {
      throw Error(ErrorCode::invalid_argument,
                  "MatrixView: ld=" + std::to_string(ld_) + " < cols=" + std::to_string(cols_));
    }
    if (data_ == nullptr && rows_ > 0 && cols_ > 0) {
      throw Error(ErrorCode::invalid_argument, "MatrixView: null data with non-zero extents");
    }
  }

  /// A view of mutable data converts to a view of const data.
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T>>>
  MatrixView(const MatrixView<U>& other)  // NOLINT(google-explicit-constructor)
      : data_(other.data()), rows_(other.rows()), cols_(other.cols()), ld_(other.ld()) {}

  T* data() const { return data_; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t ld() const { return ld_; }
  int64_t size() const { return rows_ * cols_; }
  bool empty() const { return rows_ == 0 || cols_ == 0; }
  bool contiguous() const { return ld_ == cols_ || rows_ <= 1; }

  T* row(int64_t i) const { return data_ + i * ld_; }
  T& operator()(int64_t i, int64_t j) const { return data_[i * ld_ + j]; }

  /// Rows [begin, begin + count) as a view sharing the same storage.
  MatrixView row_block(int64_t begin, int64_t count) const {
    return MatrixView(data_ + begin * ld_, count, cols_, ld_);
  }

 private:
  T* data_ = nullptr;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t ld_ = 0;
};

/// Owning, contiguous row-major matrix.
template <typename T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols, T fill = T{})
      : data_(static_cast<std::size_t>(checked_mul(rows, cols, "Matrix")), fill),
        rows_(rows),
        cols_(cols) {}

  /// Deep copy of any view (packs strided rows).
  static Matrix copy_of(MatrixView<const T> v) {
    Matrix m(v.rows(), v.cols());
    for (int64_t i = 0; i < v.rows(); ++i) {
      std::copy(v.row(i), v.row(i) + v.cols(), m.row(i));
    }
    return m;
  }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  bool empty() const { return rows_ == 0 || cols_ == 0; }
  T* row(int64_t i) { return data_.data() + i * cols_; }
  const T* row(int64_t i) const { return data_.data() + i * cols_; }
  T& operator()(int64_t i, int64_t j) { return data_[static_cast<std::size_t>(i * cols_ + j)]; }
  const T& operator()(int64_t i, int64_t j) const {
    return data_[static_cast<std::size_t>(i * cols_ + j)];
  }
  /// The elements, row after row (large ones on huge pages: host_memory.hpp).
  HostVector<T>& storage() { return data_; }
  const HostVector<T>& storage() const { return data_; }

  MatrixView<T> view() { return MatrixView<T>(data_.data(), rows_, cols_); }
  MatrixView<const T> view() const { return MatrixView<const T>(data_.data(), rows_, cols_); }
  operator MatrixView<T>() { return view(); }                    // NOLINT
  operator MatrixView<const T>() const { return view(); }        // NOLINT

 private:
  HostVector<T> data_;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
};

/// Compressed sparse rows: row i's entries are indices/values
/// [indptr[i], indptr[i+1]). Column indices need not be sorted but must be
/// in [0, cols). Non-owning.
struct CsrView {
  int64_t rows = 0;
  int64_t cols = 0;
  const int64_t* indptr = nullptr;   // [rows + 1]
  const int32_t* indices = nullptr;  // [nnz]
  const float* values = nullptr;     // [nnz]
  int64_t nnz() const { return rows == 0 ? 0 : indptr[rows]; }
};

/// Owning CSR matrix.
struct CsrMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> indptr{0};
  std::vector<int32_t> indices;
  std::vector<float> values;

  int64_t nnz() const { return static_cast<int64_t>(indices.size()); }
  CsrView view() const { return CsrView{rows, cols, indptr.data(), indices.data(), values.data()}; }
  operator CsrView() const { return view(); }  // NOLINT
};

/// Checks a CSR's structure (monotone indptr, indices in range, finite
/// values); throws stray::Error naming `where` otherwise.
void validate_csr(const CsrView& m, const char* where);

/// Dense copy of a CSR matrix (for tests and small inputs).
Matrix<float> csr_to_dense(const CsrView& m);

/// CSR copy of a dense matrix, keeping non-zeros only.
CsrMatrix dense_to_csr(MatrixView<const float> m);

}  // namespace stray
