#include "cluster/agglomerative_points.hpp"

#include <cmath>

namespace stray::internal {

namespace {

constexpr double kU32 = 0x1p-24;  // float32's unit roundoff

}  // namespace

LivePoints::LivePoints(MatrixView<const float> X, double aux)
    : n_(X.rows()),
      d_(X.cols()),
      cap_(X.rows()),
      len_(X.rows()),
      mean_(static_cast<std::size_t>(X.cols()), 0.0),
      exact_(static_cast<std::size_t>(X.rows() * X.cols())),
      screen_(static_cast<std::size_t>(X.rows() * X.cols())),
      aux_(static_cast<std::size_t>(X.rows()), aux),
      screen_aux_(static_cast<std::size_t>(X.rows()), static_cast<float>(aux)),
      slot_(static_cast<std::size_t>(X.rows())),
      pos_(static_cast<std::size_t>(X.rows())) {
  // Centring and scaling serve the screen alone (its error grows with the
  // norms, and float32 must not overflow); exact values use the rows as
  // given. σ is a power of two, so scaling itself rounds nothing.
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t k = 0; k < d_; ++k) mean_[static_cast<std::size_t>(k)] += X(i, k);
  for (double& m : mean_) m /= static_cast<double>(n_);
  double widest = 0.0;
  for (int64_t i = 0; i < n_; ++i) {
    double norm = 0.0;
    for (int64_t k = 0; k < d_; ++k) {
      const double c = X(i, k) - mean_[static_cast<std::size_t>(k)];
      norm += c * c;
    }
    widest = std::max(widest, norm);
  }
  if (widest > 0.0) {
    int e = 0;
    std::frexp(std::sqrt(widest), &e);  // sqrt(widest) < 2^e
    scale_ = std::ldexp(1.0, -e);
  }
  max_norm_ = widest * scale_ * scale_;
  std::vector<double> row(static_cast<std::size_t>(d_));
  for (int64_t i = 0; i < n_; ++i) {
    slot_[static_cast<std::size_t>(i)] = i;
    pos_[static_cast<std::size_t>(i)] = i;
    for (int64_t k = 0; k < d_; ++k) row[static_cast<std::size_t>(k)] = X(i, k);
    write(i, row.data());
  }
}

int64_t LivePoints::first_alive_slot() {
  // Slots only die (a merged cluster keeps the higher slot), so the lowest
  // live slot only moves up.
  while (first_alive_ < n_ && !alive(first_alive_)) ++first_alive_;
  return first_alive_;
}

void LivePoints::write(int64_t slot, const double* coords) {
  const int64_t p = position_of(slot);
  double* e = exact_.data() + static_cast<std::size_t>(slot * d_);
  for (int64_t k = 0; k < d_; ++k) {
    e[k] = coords[k];
    screen_[static_cast<std::size_t>(k * cap_ + p)] =
        static_cast<float>(scale_ * (coords[k] - mean_[static_cast<std::size_t>(k)]));
  }
}

void LivePoints::make_query(const double* q, ScreenQuery& out) const {
  out.coords.resize(static_cast<std::size_t>(d_));
  double norm = 0.0;
  for (int64_t k = 0; k < d_; ++k) {
    const float a = static_cast<float>(scale_ * (q[k] - mean_[static_cast<std::size_t>(k)]));
    out.coords[static_cast<std::size_t>(k)] = a;
    norm += static_cast<double>(a) * a;
  }
  // Rounding the coordinates to float32 moves a − b by at most
  // δ/2 = u·(‖a‖ + ‖b‖); the screen's d subtractions, squares and sums add
  // at most (d + 3)·u relative (u = 2⁻²⁴). So a screened value s and the
  // exact S (scaled by σ²) satisfy s < S(1 + c) + 2√S·δ + δ² with
  // c = 4(d + 8)u (the weight of ward's scan adds a few u more), and
  // 2√S·δ ≤ c·S + δ²/c: an exact value below b can only hide behind a
  // screened one below σ²b(1 + 2c) + δ²(1 + 1/c). Factors of 2 to spare.
  const double c = 4.0 * static_cast<double>(d_ + 8) * kU32;
  const double delta = 2.0 * kU32 * (std::sqrt(norm) + std::sqrt(max_norm_));
  out.bound.slope = scale_ * scale_ * (1.0 + 2.0 * c);
  out.bound.offset = delta * delta * (1.0 + 1.0 / c);
}

void LivePoints::screen(const ScreenQuery& q, int64_t p0, int64_t count, float* out) const {
  constexpr int64_t kLanes = 32;  // accumulators held in registers
  const float* a = q.coords.data();
  const float* c = screen_.data() + p0;
  const int64_t ld = cap_, d = d_;
  int64_t j = 0;
  for (; j + kLanes <= count; j += kLanes) {
    float s[kLanes] = {};
    for (int64_t k = 0; k < d; ++k) {
      const float* ck = c + k * ld + j;
      const float ak = a[k];
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) {
        const float t = ck[l] - ak;
        s[l] += t * t;
      }
    }
    for (int64_t l = 0; l < kLanes; ++l) out[j + l] = s[l];
  }
  for (; j < count; ++j) {
    float s = 0.0f;
    for (int64_t k = 0; k < d; ++k) {
      const float t = c[k * ld + j] - a[k];
      s += t * t;
    }
    out[j] = s;
  }
}

void LivePoints::set_aux(int64_t slot, double value) {
  const auto p = static_cast<std::size_t>(position_of(slot));
  aux_[p] = value;
  screen_aux_[p] = static_cast<float>(value);
}

float LivePoints::hide(int64_t p) {
  const float saved = screen_[static_cast<std::size_t>(p)];
  screen_[static_cast<std::size_t>(p)] = std::numeric_limits<float>::infinity();
  return saved;
}

void LivePoints::unhide(int64_t p, float saved) { screen_[static_cast<std::size_t>(p)] = saved; }

void LivePoints::kill(int64_t slot, double dead_aux) {
  const int64_t p = position_of(slot);
  screen_[static_cast<std::size_t>(p)] = std::numeric_limits<float>::infinity();
  aux_[static_cast<std::size_t>(p)] = dead_aux;
  screen_aux_[static_cast<std::size_t>(p)] = static_cast<float>(dead_aux);
  pos_[static_cast<std::size_t>(slot)] = -1;
  ++dead_;
  if (dead_ * 4 > len_ && len_ > 64) compact();
}

void LivePoints::compact() {
  // Stable: live points keep their order, so positions stay in slot order.
  int64_t out = 0;
  for (int64_t p = 0; p < len_; ++p) {
    const int64_t slot = slot_[static_cast<std::size_t>(p)];
    if (pos_[static_cast<std::size_t>(slot)] < 0) continue;
    if (out != p) {
      for (int64_t k = 0; k < d_; ++k)
        screen_[static_cast<std::size_t>(k * cap_ + out)] =
            screen_[static_cast<std::size_t>(k * cap_ + p)];
      aux_[static_cast<std::size_t>(out)] = aux_[static_cast<std::size_t>(p)];
      screen_aux_[static_cast<std::size_t>(out)] = screen_aux_[static_cast<std::size_t>(p)];
      slot_[static_cast<std::size_t>(out)] = slot;
      pos_[static_cast<std::size_t>(slot)] = out;
    }
    ++out;
  }
  len_ = out;
  dead_ = 0;
}

}  // namespace stray::internal
