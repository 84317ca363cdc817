// Backend memory helpers: borrow_or_upload reads host data in place only
// where backend memory is host memory, and copies everything else.
#include <gtest/gtest.h>

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

TEST(CpuBackendMemory, SharesHostMemory) {
  EXPECT_TRUE(stray::make_backend("cpu")->shares_host_memory());
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendMemory,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
