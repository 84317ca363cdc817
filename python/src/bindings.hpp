// stray._core — shared helpers of the bindings: numpy arrays in and out,
// backends by name, and each concept's bind_* entry point (module.cpp).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <stray/stray.hpp>

namespace nb = nanobind;

namespace stray::python {

// Inputs: the Python side converts (numpy.ascontiguousarray, as sklearn's
// check_array does) and these are declared noconvert, so what arrives here is
// always the caller's own memory, read in place.
template <typename T>
using Matrix2In = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
template <typename T>
using Vector1In = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <typename T>
MatrixView<const T> view_of(const Matrix2In<T>& a) {
  return MatrixView<const T>(a.data(), static_cast<int64_t>(a.shape(0)),
                             static_cast<int64_t>(a.shape(1)));
}

template <typename T>
std::vector<T> vector_of(const Vector1In<T>& a) {
  return std::vector<T>(a.data(), a.data() + a.shape(0));
}

/// A CSR matrix as scipy.sparse holds it, after the Python side made the
/// dtypes stray's (indptr int64, indices int32, data float32).
struct CsrIn {
  Vector1In<int64_t> indptr;
  Vector1In<int32_t> indices;
  Vector1In<float> data;
  int64_t rows = 0, cols = 0;
  CsrView view() const {
    return CsrView{rows, cols, indptr.data(), indices.data(), data.data()};
  }
};

// Outputs: numpy arrays that own the library's buffers (moved, not copied).
template <typename T>
using Array = nb::ndarray<nb::numpy, T>;

template <typename T>
Array<T> to_numpy(std::vector<T>&& v) {
  auto* owner = new std::vector<T>(std::move(v));
  nb::capsule free(owner, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return Array<T>(owner->data(), {owner->size()}, free);
}

template <typename T>
Array<T> to_numpy(Matrix<T>&& m) {
  auto* owner = new Matrix<T>(std::move(m));
  nb::capsule free(owner, [](void* p) noexcept { delete static_cast<Matrix<T>*>(p); });
  return Array<T>(owner->data(),
                  {static_cast<size_t>(owner->rows()), static_cast<size_t>(owner->cols())}, free);
}

/// make_backend by the estimators' backend= name ("auto", "cpu", "cuda").
/// Each call gets its own backend, so independent estimators share nothing.
std::unique_ptr<Backend> open_backend(const std::string& name);

void bind_errors(nb::module_& m);
void bind_backends(nb::module_& m);
void bind_kmeans(nb::module_& m);
void bind_kmeans_statistics(nb::module_& m);
void bind_pca(nb::module_& m);
void bind_neighbors(nb::module_& m);
void bind_agglomerative(nb::module_& m);
void bind_metrics(nb::module_& m);
void bind_fleet(nb::module_& m);

}  // namespace stray::python
