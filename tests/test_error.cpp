// stray::Error keeps the failing function and the message apart, so a tool
// can show people the message and keep the function for bug reports.
#include <gtest/gtest.h>

#include <string>

#include "stray/core/error.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/matrix.hpp"

namespace stray {
namespace {

TEST(Error, WhatIsWhereThenDetail) {
  const Error e(ErrorCode::parse_error, "read_events_csv", "a.csv line 2: bad value");
  EXPECT_STREQ(e.what(), "read_events_csv: a.csv line 2: bad value");
  EXPECT_EQ(e.where(), "read_events_csv");
  EXPECT_EQ(e.detail(), "a.csv line 2: bad value");
  const Error plain(ErrorCode::io_error, "fleet: cannot write");
  EXPECT_STREQ(plain.what(), "fleet: cannot write");
  EXPECT_EQ(plain.where(), "");
  EXPECT_EQ(plain.detail(), "fleet: cannot write");
}

TEST(Error, LibraryFailuresFillBothParts) {
  auto backend = make_backend("cpu");
  const Matrix<float> X(4, 2, 1.0f);
  KMeansParams p;
  p.n_clusters = 8;
  try {
    kmeans_fit(*backend, p, X.view());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "kmeans_fit");
    EXPECT_EQ(std::string(e.what()), e.where() + ": " + e.detail());
    EXPECT_EQ(e.detail().find("kmeans_fit"), std::string::npos) << e.detail();
  }
}

}  // namespace
}  // namespace stray
