// CPU backend: construction, memory and column statistics.
#include "cpu/cpu_backend.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "core/backend_factories.hpp"
#include "core/check.hpp"

namespace stray::internal {
namespace {

// Copies at least this large are split over the threads: one core cannot
// saturate memory bandwidth, and a fresh buffer's page faults (most of the
// cost of an upload) are taken on all cores at once.
constexpr std::size_t kParallelCopyBytes = std::size_t{4} << 20;

// Slices of 1 MiB: a helper that is not running leaves its share to the
// others.
constexpr std::size_t kCopySliceBytes = std::size_t{1} << 20;

void parallel_copy(void* dst, const void* src, std::size_t bytes, WorkTeam& team) {
  if (bytes < kParallelCopyBytes || team.threads() < 2) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const auto slices = static_cast<int64_t>((bytes + kCopySliceBytes - 1) / kCopySliceBytes);
  team.run(slices, [&](int64_t t, int) {
    const std::size_t begin = static_cast<std::size_t>(t) * kCopySliceBytes;
    const std::size_t end = std::min(bytes, begin + kCopySliceBytes);
    std::memcpy(static_cast<char*>(dst) + begin, static_cast<const char*>(src) + begin,
                end - begin);
  });
}

// 64-byte aligned host memory, so Eigen and the compiler can use aligned
// vector loads on row starts. Not on huge pages (unlike Matrix storage):
// these buffers are uploads and scratch, made and dropped per call, and a
// large fleet's PCA uploads its CSR arrays; faulting those in as fresh
// huge pages, compacting memory first, made its PCA step much slower (see
// RESULTS.md, 'Fleet pipeline: 1,000,000 synthetic hosts on the CPU').
class HostBuffer final : public DeviceBuffer {
 public:
  explicit HostBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    data_ = std::aligned_alloc(64, rounded);
    if (data_ == nullptr) {
      throw Error(ErrorCode::out_of_memory,
                  "cpu backend: cannot allocate " + std::to_string(bytes) + " bytes");
    }
  }
  ~HostBuffer() override { std::free(data_); }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
  void* data() override { return data_; }
  const void* data() const override { return data_; }
  std::size_t bytes() const override { return bytes_; }
  std::string memory_space() const override { return "host"; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

void check_range(const DeviceBuffer& buf, std::size_t offset, std::size_t bytes, const char* where) {
  require(offset <= buf.bytes() && bytes <= buf.bytes() - offset, ErrorCode::invalid_argument,
          where, "copy of ", bytes, " bytes at offset ", offset, " exceeds the buffer's ",
          buf.bytes(), " bytes");
}

}  // namespace

// Rows per fixed reduction chunk. Chunk boundaries depend only on n, never
// on the thread count, so float64 partial sums combine in the same order on
// any machine.
constexpr int64_t kReductionChunkRows = 8192;

CpuBackend::CpuBackend(std::size_t workspace_bytes, const CpuOptions& options)
    : workspace_bytes_(workspace_bytes),
      options_(options),
      threads_(options.threads > 0 ? options.threads : omp_get_max_threads()),
      // The team's threads start here, as a CUDA backend makes its context
      // when it is created, so the first call does not pay for them (see
      // RESULTS.md, 'k-means against scikit-learn').
      team_(std::make_unique<WorkTeam>(threads_)) {}

void CpuBackend::for_row_blocks(int64_t n, int64_t block_rows,
                                const std::function<void(int64_t, int64_t, int)>& fn) const {
  if (n <= 0) return;
  block_rows = std::max<int64_t>(block_rows, 1);
  team_->run((n + block_rows - 1) / block_rows, [&](int64_t b, int worker) {
    const int64_t begin = b * block_rows;
    fn(begin, std::min(n, begin + block_rows), worker);
  });
}

std::string CpuBackend::device_description() const {
  return std::to_string(threads_) + " thread" + (threads_ == 1 ? "" : "s");
}

std::unique_ptr<DeviceBuffer> CpuBackend::allocate_bytes(std::size_t bytes) {
  return std::make_unique<HostBuffer>(bytes);
}

void CpuBackend::copy_to_device(DeviceBuffer& dst, std::size_t dst_offset, const void* src,
                                std::size_t bytes) {
  require_host("cpu backend copy_to_device", {&dst});
  check_range(dst, dst_offset, bytes, "cpu backend copy_to_device");
  if (bytes) parallel_copy(static_cast<char*>(dst.data()) + dst_offset, src, bytes, *team_);
}

void CpuBackend::copy_to_host(void* dst, const DeviceBuffer& src, std::size_t src_offset,
                              std::size_t bytes) {
  require_host("cpu backend copy_to_host", {&src});
  check_range(src, src_offset, bytes, "cpu backend copy_to_host");
  if (bytes) parallel_copy(dst, static_cast<const char*>(src.data()) + src_offset, bytes, *team_);
}

namespace {

// Short rows are summed four at a time in registers before they are added
// to the float64 accumulators: a quarter of the accumulator loads and
// stores, which bound the one-row loop. Long rows stream from memory and
// gained nothing (256 columns ran slower blocked), so they keep one row at
// a time (see RESULTS.md, 'k-means against scikit-learn', the column
// statistics). Per column, the order is fixed by the shape.
constexpr int64_t kBlockedRowsUpTo = 128;

void sum_rows(const float* x, int64_t rows, int64_t d, double* sums) {
  int64_t i = 0;
  for (; d <= kBlockedRowsUpTo && i + 4 <= rows; i += 4) {
    const float* r = x + i * d;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) {
      sums[j] += (double(r[j]) + double(r[d + j])) + (double(r[2 * d + j]) + double(r[3 * d + j]));
    }
  }
  for (; i < rows; ++i) {
    for (int64_t j = 0; j < d; ++j) sums[j] += x[i * d + j];
  }
}

// Σ (x − mu)² per column, short rows four at a time as in sum_rows.
void sum_squared_deviations(const float* x, int64_t rows, int64_t d, const double* mu,
                            double* m2) {
  int64_t i = 0;
  for (; d <= kBlockedRowsUpTo && i + 4 <= rows; i += 4) {
    const float* r = x + i * d;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) {
      const double a = r[j] - mu[j], b = r[d + j] - mu[j];
      const double c = r[2 * d + j] - mu[j], e = r[3 * d + j] - mu[j];
      m2[j] += (a * a + b * b) + (c * c + e * e);
    }
  }
  for (; i < rows; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      const double dev = x[i * d + j] - mu[j];
      m2[j] += dev * dev;
    }
  }
}

// Rows [begin, end) of x [· x d] (weights w, or null): into part (zeroed,
// [1 + 2d]) their total weight, their mean and their weighted squared
// deviations from that mean.
void chunk_moments(const float* x, const float* w, int64_t d, int64_t begin, int64_t end,
                   double* part) {
  double *mu = part + 1, *m2 = part + 1 + d;
  double weight = 0.0;
  if (w) {
    for (int64_t i = begin; i < end; ++i) {
      const double wi = w[i];  // products in float64
      const float* row = x + i * d;
      weight += wi;
      for (int64_t j = 0; j < d; ++j) mu[j] += wi * row[j];
    }
  } else {
    weight = static_cast<double>(end - begin);
    sum_rows(x + begin * d, end - begin, d, mu);
  }
  part[0] = weight;
  if (weight <= 0.0) return;
  for (int64_t j = 0; j < d; ++j) mu[j] /= weight;
  if (!w) {
    sum_squared_deviations(x + begin * d, end - begin, d, mu, m2);
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    const double wi = w[i];
    const float* row = x + i * d;
    for (int64_t j = 0; j < d; ++j) {
      const double dev = row[j] - mu[j];
      m2[j] += wi * dev * dev;
    }
  }
}

}  // namespace

void CpuBackend::column_stats(const DeviceArray<float>& X, const DeviceArray<float>* weights,
                              double* mean, double* var) {
  require_host("column_stats", {X.buffer(), weights ? weights->buffer() : nullptr});
  const int64_t n = X.rows(), d = X.cols();
  require(n > 0, ErrorCode::invalid_argument, "column_stats", "X has no rows");
  require(weights == nullptr || weights->size() == n, ErrorCode::shape_mismatch, "column_stats",
          "weights has ", weights ? weights->size() : 0, " entries for n=", n);
  const float* x = X.data();
  const float* w = weights ? weights->data() : nullptr;
  // One pass over X, as accurate as two: each fixed chunk of rows gets its
  // own mean, then its squared deviations from that mean, reading the chunk
  // again from cache (chunks of ~512 KiB). Chunks are merged in chunk order
  // by Chan, Golub and LeVeque's update, so the result does not depend on
  // the thread count.
  const int64_t chunk_rows = std::clamp<int64_t>((int64_t{1} << 17) / std::max<int64_t>(d, 1), 64,
                                                 kReductionChunkRows);
  const int64_t chunks = (n + chunk_rows - 1) / chunk_rows;
  std::vector<double> total_mean(static_cast<std::size_t>(d), 0.0);
  std::vector<double> total_m2(static_cast<std::size_t>(d), 0.0);
  double total_weight = 0.0;
  run_ordered(
      *team_, chunks, static_cast<std::size_t>(1 + 2 * d), 4 * threads_,
      [&](int64_t c, double* part, int) {
        const int64_t begin = c * chunk_rows;
        chunk_moments(x, w, d, begin, std::min(n, begin + chunk_rows), part);
      },
      [&](int64_t, const double* part) {
        const double weight = part[0];
        if (weight <= 0.0) return;
        const double merged = total_weight + weight;
        const double share = weight / merged;
        for (int64_t j = 0; j < d; ++j) {
          const double delta = part[1 + j] - total_mean[j];
          total_mean[j] += delta * share;
          total_m2[j] += part[1 + d + j] + delta * delta * total_weight * share;
        }
        total_weight = merged;
      });
  require(total_weight > 0.0, ErrorCode::invalid_argument, "column_stats", "weights sum to 0");
  for (int64_t j = 0; j < d; ++j) {
    mean[j] = total_mean[j];
    var[j] = total_m2[j] / total_weight;
  }
}

void CpuBackend::subtract_row_vector(DeviceArray<float>& X, const double* shift) {
  require_host("subtract_row_vector", {X.buffer()});
  const int64_t n = X.rows(), d = X.cols();
  std::vector<float> s(shift, shift + d);
  float* x = X.data();
  for_row_blocks(n, elementwise_block_rows(d), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      float* row = x + i * d;
      for (int64_t j = 0; j < d; ++j) row[j] -= s[j];
    }
  });
}

// One pass instead of a copy and a subtraction: each row is read from the
// caller and written centred (the same float32 arithmetic as
// subtract_row_vector), on all cores, so the fresh pages are touched once.
DeviceArray<float> CpuBackend::upload_shifted(MatrixView<const float> host, const double* shift) {
  const int64_t n = host.rows(), d = host.cols();
  DeviceArray<float> X = allocate<float>(n, d);
  std::vector<float> s(shift, shift + d);
  float* x = X.data();
  for_row_blocks(n, elementwise_block_rows(d), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      const float* src = host.row(i);
      float* row = x + i * d;
      for (int64_t j = 0; j < d; ++j) row[j] = src[j] - s[j];
    }
  });
  return X;
}

DeviceArray<float> CpuBackend::copy_shifted(const DeviceArray<float>& X, const double* shift) {
  require_host("copy_shifted", {X.buffer()});
  return upload_shifted(MatrixView<const float>(X.data(), X.rows(), X.cols()), shift);
}

std::unique_ptr<Backend> CpuBackend::make_serial() const {
  CpuOptions serial = options_;
  serial.threads = 1;
  return std::make_unique<CpuBackend>(workspace_bytes_, serial);
}

void CpuBackend::require_host(const char* where,
                              std::initializer_list<const DeviceBuffer*> buffers) {
  for (const DeviceBuffer* b : buffers) {
    if (b == nullptr) continue;
    const std::string space = b->memory_space();
    require(space == "host", ErrorCode::invalid_argument, where, "an array in ", space,
            " memory was handed to the cpu backend (arrays belong to the backend that made them)");
  }
}

std::unique_ptr<Backend> make_cpu_backend(std::size_t workspace_bytes, const CpuOptions& options) {
  return std::make_unique<CpuBackend>(workspace_bytes, options);
}

}  // namespace stray::internal
