// CUDA backend: the neighbour lists knn and csr_knn keep in their output
// arrays (core/knn_exact.hpp's KnnList), set up and finished on the device.
#pragma once

#include <cstdint>

namespace stray::internal {
class CudaBackend;
namespace cuda {

/// Every list empty: squared distances +inf, indices −1 (`total` = q·k).
void clear_lists(CudaBackend& be, double* sq, int64_t* index, int64_t total, const char* where);
/// The squared distances made distances, in place.
void take_roots(CudaBackend& be, double* sq, int64_t total, const char* where);

}  // namespace cuda
}  // namespace stray::internal
