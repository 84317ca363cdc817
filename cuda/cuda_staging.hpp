// Pinned staging for host <-> device copies.
//
// A copy from pageable host memory cannot be DMA'd directly: the driver
// stages it through pinned buffers of its own and the copy is synchronous.
// The backend keeps two pinned chunks of its own instead, so that while the
// copy engine moves one chunk the host copies the next into (or out of) the
// other. Users' host memory is never pinned or registered: it may be reused
// as soon as a copy returns, as the Backend interface promises.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace stray::internal::cuda {

class PinnedStaging {
 public:
  /// Chunks of `chunk_bytes` each; nothing is allocated until the first
  /// staged copy.
  explicit PinnedStaging(std::size_t chunk_bytes) : chunk_(chunk_bytes) {}
  ~PinnedStaging() { release(); }
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  std::size_t chunk_bytes() const { return chunk_; }
  /// Whether a copy of `bytes` is worth staging: at least two chunks, so
  /// there is something to overlap. Smaller copies go direct.
  bool worth_staging(std::size_t bytes) const { return bytes >= 2 * chunk_; }
  /// Host `src` to device `dst`, in stream order on `stream` (the device
  /// current). Returns once `src` has been read; the last chunks' transfers
  /// may still be queued, but they read only the staging buffers.
  void to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream,
                 const char* where);
  /// Device `src` to host `dst`, after all work queued on `stream`.
  /// Returns with `dst` filled.
  void to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t stream,
               const char* where);
  /// Frees the buffers (the stream must be idle). Never throws.
  void release() noexcept;

 private:
  void ensure_allocated(const char* where);

  std::size_t chunk_;
  void* buffer_[2] = {nullptr, nullptr};
  // Recorded after each transfer that uses buffer_[i]: the host waits on it
  // before touching the buffer again.
  cudaEvent_t done_[2] = {nullptr, nullptr};
};

}  // namespace stray::internal::cuda
