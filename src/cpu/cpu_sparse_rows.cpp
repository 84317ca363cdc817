// CPU backend: CSR rows made dense, for Gram blocks of sparse data.
#include <algorithm>

#include "core/check.hpp"
#include "cpu/cpu_backend.hpp"

namespace stray::internal {

void CpuBackend::csr_rows_to_dense(const DeviceCsr& A, int64_t begin, DeviceArray<float>& out) {
  require_host("csr_rows_to_dense",
               {A.indptr.buffer(), A.indices.buffer(), A.values.buffer(), out.buffer()});
  const int64_t count = out.rows(), d = A.cols;
  require(out.cols() == d && begin >= 0 && count <= A.rows - begin, ErrorCode::shape_mismatch,
          "csr_rows_to_dense", "rows [", begin, ", ", begin + count, ") x ", out.cols(),
          " do not fit a CSR of ", A.rows, " x ", d);
  const int64_t* ip = A.indptr.data();
  const int32_t* ix = A.indices.data();
  const float* v = A.values.data();
  float* dense = out.data();
  for_row_blocks(count, elementwise_block_rows(d), [&](int64_t first, int64_t last, int) {
    for (int64_t r = first; r < last; ++r) {
      const int64_t i = begin + r;
      float* dst = dense + r * d;
      std::fill(dst, dst + d, 0.0f);
      for (int64_t p = ip[i]; p < ip[i + 1]; ++p) dst[ix[p]] += v[p];
    }
  });
}

}  // namespace stray::internal
