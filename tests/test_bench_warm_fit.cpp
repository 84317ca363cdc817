// The benchmark's warm k-means driver (bench/kmeans_warm_fit) gives the fit
// the peer script compares with scikit-learn: the same result as
// scikit-learn's own on a golden case, and one line on stderr for bad input.
#ifdef STRAY_WARM_FIT_PATH

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"

namespace stray {
namespace {

using testing::run_program;

std::string fixture(const std::string& rel) { return std::string(STRAY_FIXTURES_DIR) + "/" + rel; }

nlohmann::json golden_case(const std::string& name) {
  std::ifstream in(fixture("kmeans_golden.json"));
  const nlohmann::json manifest = nlohmann::json::parse(in);
  for (const auto& c : manifest.at("kmeans")) {
    if (c.at("name") == name) return c;
  }
  throw std::runtime_error("no k-means case '" + name + "'");
}

TEST(BenchWarmFit, MatchesScikitLearnWithStrictConvergence) {
  // tol = 0 in this case, as the driver always uses.
  const nlohmann::json c = golden_case("strict_convergence");
  ASSERT_EQ(c.at("tol").get<double>(), 0.0);
  const auto run = run_program(STRAY_WARM_FIT_PATH,
                               fixture(c.at("X")) + " " + fixture(c.at("init_centers")) + " " +
                                   std::to_string(c.at("max_iter").get<int>()) + " cpu");
  ASSERT_EQ(run.status, 0) << run.err;
  const nlohmann::json out = nlohmann::json::parse(run.out);
  EXPECT_EQ(out.at("backend"), "cpu");
  EXPECT_EQ(out.at("n_iter").get<int>(), c.at("n_iter").get<int>());
  EXPECT_TRUE(out.at("converged").get<bool>());
  const double expected = c.at("inertia").get<double>();
  EXPECT_NEAR(out.at("inertia").get<double>(), expected, 1e-5 * expected);
  EXPECT_GT(out.at("seconds").get<double>(), 0.0);
}

TEST(BenchWarmFit, BadInputIsOneLineOnStderr) {
  const nlohmann::json c = golden_case("strict_convergence");
  for (const std::string& args :
       {fixture(c.at("X")) + " " + fixture(c.at("init_centers")) + " 0",
        fixture(c.at("X")) + " missing_centres.npy 5", std::string("only_one_argument")}) {
    const auto run = run_program(STRAY_WARM_FIT_PATH, args);
    EXPECT_EQ(run.status, 1) << args;
    EXPECT_TRUE(run.out.empty()) << args;
    ASSERT_FALSE(run.err.empty()) << args;
    EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << run.err;
  }
}

}  // namespace
}  // namespace stray

#endif  // STRAY_WARM_FIT_PATH
