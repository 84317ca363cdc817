#include "core/rng.hpp"

#include <algorithm>
#include <cmath>

namespace stray::internal {

double Rng::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

int64_t Rng::poisson(double mean) {
  if (mean <= 0.0) return 0;
  if (mean > 30.0) {
    const double v = std::round(mean + std::sqrt(mean) * normal());
    return v < 0.0 ? 0 : static_cast<int64_t>(v);
  }
  const double limit = std::exp(-mean);
  int64_t k = 0;
  double p = uniform();
  while (p > limit) {
    ++k;
    p *= uniform();
  }
  return k;
}

std::vector<int64_t> Rng::sample_in_order(int64_t n, int64_t m) {
  std::vector<int64_t> out;
  m = std::min(n, m);
  out.reserve(static_cast<std::size_t>(std::max<int64_t>(m, 0)));
  for (int64_t i = 0, taken = 0; i < n && taken < m; ++i) {
    if (static_cast<double>(n - i) * uniform() < static_cast<double>(m - taken)) {
      out.push_back(i);
      ++taken;
    }
  }
  return out;
}

}  // namespace stray::internal
