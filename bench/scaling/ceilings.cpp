// The backend's own ceilings, measured in the same process as the steps
// they judge: a large float32 GEMM (the rate k-means distances and the
// Gram aspire to) and a streaming pass that reads and writes a large array
// (the rate memory-bound steps aspire to). Best of three runs each.
#include <algorithm>
#include <vector>

#include "scaling.hpp"

namespace scaling {

namespace {

constexpr int kRuns = 3;

stray::DeviceArray<float> filled(stray::Backend& backend, int64_t rows, int64_t cols) {
  stray::Matrix<float> host(rows, cols);
  for (int64_t i = 0; i < host.size(); ++i) host.data()[i] = static_cast<float>(i % 17) * 0.125f;
  return backend.upload(host.view());
}

StepRow best_of(const std::string& name, stray::Backend& backend,
                const std::function<void()>& fn) {
  StepRow best;
  for (int run = 0; run < kRuns; ++run) {
    StepRow row = timed_step(name, backend, fn);
    if (run == 0 || row.seconds < best.seconds) best = row;
  }
  return best;
}

}  // namespace

void run_ceilings(const Options& o, stray::Backend& backend, RowPrinter& out) {
  // Large enough to leave the caches and to fill a GPU, small enough for
  // a 2-core CPU to finish in seconds.
  const bool host = backend.shares_host_memory();
  const int64_t s = host ? 2048 : 8192;
  stray::DeviceArray<float> A = filled(backend, s, s), B = filled(backend, s, s);
  stray::DeviceArray<float> C = backend.allocate<float>(s, s);
  StepRow gemm = best_of("ceiling_gemm", backend,
                         [&] { backend.gemm(false, false, 1.0f, A, B, 0.0f, C); });
  gemm.work = 2.0 * s * s * s;
  gemm.unit = "GFLOP/s";
  out.print(gemm);

  const int64_t rows = host ? (int64_t{1} << 20) : (int64_t{1} << 23), cols = 256;  // 1 GiB / 8 GiB
  stray::DeviceArray<float> X = filled(backend, rows, cols);
  const std::vector<double> shift(static_cast<std::size_t>(cols), 0.0);
  StepRow stream = best_of("ceiling_stream", backend,
                           [&] { backend.subtract_row_vector(X, shift.data()); });
  stream.work = 2.0 * static_cast<double>(X.bytes());
  stream.unit = "GB/s";
  out.print(stream);
  (void)o;
}

}  // namespace scaling
