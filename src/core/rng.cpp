#include "core/rng.hpp"

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

}  // namespace stray::internal
