// The generator tests/fixtures/make_metrics_fixtures.py describes larger
// golden inputs with (its docstring is the reference): a 64-bit LCG whose
// draws become labels or costs exactly as in the Python script.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace stray::testing {

class MetricsLcg {
 public:
  explicit MetricsLcg(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return state_;
  }
  /// (state >> 11) · 2⁻⁵³, exact in float64.
  double unit() { return static_cast<double>(next() >> 11) * 0x1p-53; }

 private:
  uint64_t state_;
};

/// "uniform": (state >> 33) % k; "skewed": floor(k · u · u).
inline std::vector<int64_t> lcg_labels(const std::string& kind, int64_t n, int64_t k,
                                       uint64_t seed) {
  MetricsLcg g(seed);
  std::vector<int64_t> out(static_cast<std::size_t>(n));
  for (auto& label : out) {
    if (kind == "uniform") {
      label = static_cast<int64_t>((g.next() >> 33) % static_cast<uint64_t>(k));
    } else {
      const double u = g.unit();
      label = static_cast<int64_t>(std::floor(static_cast<double>(k) * (u * u)));
    }
  }
  return out;
}

/// Row-major rows × cols: "int": (state >> 33) % range; "float": unit().
inline std::vector<double> lcg_cost(const std::string& kind, int64_t rows, int64_t cols,
                                    int64_t range, uint64_t seed) {
  MetricsLcg g(seed);
  std::vector<double> out(static_cast<std::size_t>(rows * cols));
  for (double& c : out) {
    c = kind == "int" ? static_cast<double>((g.next() >> 33) % static_cast<uint64_t>(range))
                      : g.unit();
  }
  return out;
}

}  // namespace stray::testing
