// Backend memory helpers: borrow_or_upload reads host data in place only
// where backend memory is host memory, and copies everything else; large
// copies (staged through pinned chunks on CUDA) land byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "backend_params.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace {

using stray::DeviceArray;
using stray::Matrix;
using stray::MatrixView;

class BackendMemory : public ::testing::TestWithParam<std::string> {};

TEST_P(BackendMemory, BorrowOrUploadViewsContiguousHostDataOrCopiesIt) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  Matrix<float> host(5, 3);
  for (int64_t i = 0; i < host.size(); ++i) host.data()[i] = static_cast<float>(i) - 4.5f;

  const DeviceArray<float> a = backend->borrow_or_upload(MatrixView<const float>(host.view()));
  EXPECT_EQ(a.rows(), 5);
  EXPECT_EQ(a.cols(), 3);
  EXPECT_EQ(a.data() == host.data(), backend->shares_host_memory());
  EXPECT_EQ(backend->download_vector(a), std::vector<float>(host.storage().begin(), host.storage().end()));

  // Strided rows (every other row) are always packed into a copy.
  const MatrixView<const float> strided(host.data(), 3, 3, 6);
  const DeviceArray<float> b = backend->borrow_or_upload(strided);
  ASSERT_EQ(b.rows(), 3);
  EXPECT_NE(b.data(), host.data());
  const Matrix<float> back = backend->download(b);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(back(i, j), host(2 * i, j));

  // Empty input: an empty array.
  const DeviceArray<float> e = backend->borrow_or_upload(MatrixView<const float>(host.data(), 0, 3));
  EXPECT_TRUE(e.empty());
}

// A CSR matrix: viewed in place where backend memory is host memory (the
// arrays are the caller's), copied elsewhere; the same entries either way.
TEST_P(BackendMemory, BorrowOrUploadCsrViewsHostArraysOrCopiesThem) {
  STRAY_BACKEND_OR_SKIP(backend, GetParam());
  const std::vector<int64_t> indptr{0, 2, 2, 5};
  const std::vector<int32_t> indices{1, 3, 0, 2, 3};
  const std::vector<float> values{1.5f, -2.0f, 3.0f, 4.0f, 0.25f};
  const stray::CsrView host{3, 4, indptr.data(), indices.data(), values.data()};
  const stray::DeviceCsr csr = backend->borrow_or_upload_csr(host);
  EXPECT_EQ(csr.rows, 3);
  EXPECT_EQ(csr.cols, 4);
  EXPECT_EQ(csr.nnz, 5);
  EXPECT_EQ(backend->download_vector(csr.indptr), indptr);
  EXPECT_EQ(backend->download_vector(csr.indices), indices);
  EXPECT_EQ(backend->download_vector(csr.values), values);
  const bool viewed = csr.values.data() == values.data();
  EXPECT_EQ(viewed, backend->shares_host_memory());
  EXPECT_EQ(csr.indices.data() == indices.data(), viewed);
  EXPECT_EQ(csr.indptr.data() == indptr.data(), viewed);

  // No entries at all; and a null indptr is refused as by upload_csr.
  const std::vector<int64_t> zeros{0, 0};
  const stray::DeviceCsr empty =
      backend->borrow_or_upload_csr(stray::CsrView{1, 4, zeros.data(), nullptr, nullptr});
  EXPECT_EQ(empty.nnz, 0);
  EXPECT_TRUE(empty.values.empty());
  try {
    backend->borrow_or_upload_csr(stray::CsrView{3, 4, nullptr, indices.data(), values.data()});
    FAIL() << "a null indptr was accepted";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), stray::ErrorCode::invalid_argument);
  }
}

// Bytes 0, 1, ... scrambled so that a chunk copied to the wrong place, or
// twice, shows.
std::vector<unsigned char> pattern(std::size_t bytes, unsigned seed) {
  std::vector<unsigned char> v(bytes);
  uint32_t x = 2463534242u ^ seed;
  for (auto& b : v) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    b = static_cast<unsigned char>(x >> 24);
  }
  return v;
}

// Large copies at odd sizes and offsets, both ways. With the smallest
// workspace the CUDA backend stages through 4 KiB chunks, so every copy here
// takes many chunks and ends on a partial one; with the default budget the
// big copy takes a few 4 MiB chunks and the small ones go direct. The host
// source is overwritten as soon as each copy returns: the backend must have
// read it by then.
TEST_P(BackendMemory, LargeCopiesAtOddSizesAndOffsetsRoundTrip) {
  for (const std::size_t workspace : {std::size_t{64} << 10, std::size_t{256} << 20}) {
    SCOPED_TRACE("workspace " + std::to_string(workspace));
    stray::BackendOptions options = stray::testing::suite_options();
    options.workspace_bytes = workspace;
    STRAY_BACKEND_OR_SKIP(backend, GetParam(), options);
    const std::size_t total = (std::size_t{9} << 20) + 4099;
    auto buffer = backend->allocate_bytes(total);
    const std::vector<unsigned char> want = pattern(total, 1);
    // Pieces of odd sizes at odd offsets cover the buffer exactly.
    const std::size_t cuts[] = {0, 7, 8199, 8200, 3u << 20, (3u << 20) + 12289, total};
    for (std::size_t p = 0; p + 1 < std::size(cuts); ++p) {
      const std::size_t off = cuts[p], bytes = cuts[p + 1] - cuts[p];
      std::vector<unsigned char> src(want.begin() + off, want.begin() + off + bytes);
      backend->copy_to_device(*buffer, off, src.data(), bytes);
      std::fill(src.begin(), src.end(), 0xA5);  // reused at once
    }
    std::vector<unsigned char> got(total, 0);
    backend->copy_to_host(got.data(), *buffer, 0, total);
    ASSERT_TRUE(got == want) << "whole buffer";
    // Downloads of odd pieces at odd offsets, into an offset destination.
    for (const auto [off, bytes] : {std::pair<std::size_t, std::size_t>{3, total - 3},
                                    {8191, 40961}, {total - 5, 5}, {1, (5u << 20) + 1}}) {
      std::vector<unsigned char> part(bytes + 2, 0x5A);
      backend->copy_to_host(part.data() + 1, *buffer, off, bytes);
      ASSERT_EQ(part.front(), 0x5A);
      ASSERT_EQ(part.back(), 0x5A) << "wrote past the end at offset " << off;
      ASSERT_EQ(std::memcmp(part.data() + 1, want.data() + off, bytes), 0)
          << "offset " << off << ", " << bytes << " bytes";
    }
    // Alternating directions: an upload right after a download (and the
    // other way round) must not see the staging buffers' old contents.
    const std::vector<unsigned char> second = pattern(total, 2);
    backend->copy_to_device(*buffer, 0, second.data(), total);
    backend->copy_to_host(got.data(), *buffer, 0, total);
    ASSERT_TRUE(got == second) << "after a second upload";
  }
}

// A device index that does not exist is no usable device: "cuda" refuses it
// with backend_unavailable naming the index, and "auto" falls back to the
// CPU. On a machine without a GPU (or without the CUDA module) the probe
// already answers so; with one, the backend's own check of the index must.
TEST(BackendDeviceIndex, AbsentDeviceIsUnavailable) {
  stray::BackendOptions options;
  options.cuda.device = 4096;
  try {
    (void)stray::make_backend("cuda", options);
    FAIL() << "device 4096 was accepted";
  } catch (const stray::Error& e) {
    EXPECT_EQ(e.code(), stray::ErrorCode::backend_unavailable) << e.what();
    if (stray::cuda_unavailable_reason().empty()) {
      EXPECT_NE(std::string(e.what()).find("cuda.device=4096"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(stray::make_backend("auto", options)->name(), "cpu");
}

TEST(CpuBackendMemory, SharesHostMemory) {
  EXPECT_TRUE(stray::make_backend("cpu")->shares_host_memory());
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendMemory,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
