// Pinned staging for host <-> device copies (see cuda_staging.hpp).
#include "cuda_staging.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>

#include "cuda_check.hpp"

namespace stray::internal::cuda {

void PinnedStaging::ensure_allocated(const char* where) {
  if (buffer_[0] != nullptr) return;
  try {
    for (int i = 0; i < 2; ++i) {
      // Portable: pinned for every context, whichever device the backend uses.
      STRAY_CUDA_CHECK_AT(where, cudaHostAlloc(&buffer_[i], chunk_, cudaHostAllocPortable));
      STRAY_CUDA_CHECK_AT(where, cudaEventCreateWithFlags(&done_[i], cudaEventDisableTiming));
    }
  } catch (...) {
    release();
    throw;
  }
}

void PinnedStaging::release() noexcept {
  for (int i = 0; i < 2; ++i) {
    if (buffer_[i] != nullptr && cudaFreeHost(buffer_[i]) != cudaSuccess) (void)cudaGetLastError();
    if (done_[i] != nullptr && cudaEventDestroy(done_[i]) != cudaSuccess) (void)cudaGetLastError();
    buffer_[i] = nullptr;
    done_[i] = nullptr;
  }
}

void PinnedStaging::to_device(void* dst, const void* src, std::size_t bytes, cudaStream_t stream,
                              const char* where) {
  ensure_allocated(where);
  auto* out = static_cast<char*>(dst);
  const auto* in = static_cast<const char*>(src);
  for (std::size_t off = 0, c = 0; off < bytes; off += chunk_, ++c) {
    const std::size_t n = std::min(chunk_, bytes - off);
    const int b = static_cast<int>(c & 1);
    // The buffer's previous transfer (two chunks ago) must have left it.
    STRAY_CUDA_CHECK_AT(where, cudaEventSynchronize(done_[b]));
    std::memcpy(buffer_[b], in + off, n);
    STRAY_CUDA_CHECK_AT(where, cudaMemcpyAsync(out + off, buffer_[b], n, cudaMemcpyHostToDevice,
                                               stream));
    STRAY_CUDA_CHECK_AT(where, cudaEventRecord(done_[b], stream));
  }
}

void PinnedStaging::to_host(void* dst, const void* src, std::size_t bytes, cudaStream_t stream,
                            const char* where) {
  ensure_allocated(where);
  auto* out = static_cast<char*>(dst);
  const auto* in = static_cast<const char*>(src);
  const std::size_t chunks = (bytes + chunk_ - 1) / chunk_;
  const auto issue = [&](std::size_t c) {
    const std::size_t off = c * chunk_, n = std::min(chunk_, bytes - off);
    const int b = static_cast<int>(c & 1);
    STRAY_CUDA_CHECK_AT(where, cudaMemcpyAsync(buffer_[b], in + off, n, cudaMemcpyDeviceToHost,
                                               stream));
    STRAY_CUDA_CHECK_AT(where, cudaEventRecord(done_[b], stream));
  };
  const auto drain = [&](std::size_t c) {
    const std::size_t off = c * chunk_, n = std::min(chunk_, bytes - off);
    const int b = static_cast<int>(c & 1);
    // A fault in any work queued before the copy surfaces here.
    STRAY_CUDA_CHECK_AT(where, cudaEventSynchronize(done_[b]));
    std::memcpy(out + off, buffer_[b], n);
  };
  // Chunk c's transfer is queued before chunk c − 1 is copied out, so the
  // two overlap; buffer c % 2 was emptied (chunk c − 2) the step before.
  if (chunks == 0) return;
  issue(0);
  for (std::size_t c = 1; c < chunks; ++c) {
    issue(c);
    drain(c - 1);
  }
  drain(chunks - 1);
}

}  // namespace stray::internal::cuda
