// Data and float64 references shared by the backend suites.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "backend_params.hpp"
#include "stray/core/matrix.hpp"

namespace stray::testing {

/// The compiled backends other than the CPU: what agreement suites compare
/// with it.
inline std::vector<std::string> accelerator_names() {
  std::vector<std::string> names;
  for (const auto& n : backend_names()) {
    if (n != "cpu") names.push_back(n);
  }
  return names;
}

/// rows x cols draws of N(0, scale²) from std::mt19937(seed).
inline Matrix<float> normal_matrix(int64_t rows, int64_t cols, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  Matrix<float> m(rows, cols);
  for (auto& v : m.storage()) v = normal(gen);
  return m;
}

/// ‖a − b‖² over d floats, in float64.
inline double naive_sq_dist(const float* a, const float* b, int64_t d) {
  double s = 0.0;
  for (int64_t j = 0; j < d; ++j) {
    const double diff = static_cast<double>(a[j]) - b[j];
    s += diff * diff;
  }
  return s;
}

}  // namespace stray::testing
