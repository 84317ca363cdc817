// Test hook for the .npz writer: the size at which zip64 records are used
// (0xFFFFFFFF in production), so tests can exercise zip64 on tiny files.
#pragma once

#include <cstdint>
#include <string>

#include "stray/core/matrix.hpp"

namespace stray::internal {

constexpr uint64_t kZip64Threshold = 0xFFFFFFFFull;

void write_npz_csr_impl(const std::string& path, const CsrView& m, uint64_t zip64_threshold);

}  // namespace stray::internal
