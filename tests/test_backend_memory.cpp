// Backend memory helpers: borrow_or_upload reads host data in place only
// where backend memory is host memory, and copies everything else.
#include <gtest/gtest.h>

#include <vector>

#include "backend_params.hpp"
#include "stray/backend.hpp"
#include "stray/matrix.hpp"

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

TEST(CpuBackendMemory, SharesHostMemory) {
  EXPECT_TRUE(stray::make_backend("cpu")->shares_host_memory());
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendMemory,
                         ::testing::ValuesIn(stray::testing::backend_names()),
                         stray::testing::param_name);

}  // namespace
