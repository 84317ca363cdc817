// k-means initialisations: greedy k-means++, random rows, and k-means||.
// Random numbers come from internal::Rng on the host; distance passes, and
// k-means++'s running sums and searches, run on the backend.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.hpp"
#include "cluster/kmeans_data.hpp"

namespace stray::internal {

KMeansData::KMeansData(Backend& be, MatrixView<const float> host, const std::vector<float>* w,
                       const char* where, int64_t first_row)
    : backend(be),
      host_X(host),
      shift(static_cast<std::size_t>(host.cols())),
      variance(shift.size()),
      weights(w),
      x_(&storage_) {
  // Unweighted, like sklearn (its tol uses unweighted variances); any shift
  // leaves distances unchanged. Where the backend reads host memory in
  // place, the statistics come from the caller's rows, and the rows are
  // either read in place too or centred as they are copied; no separate
  // finite scan either (check_stats_finite scans X only when a column is
  // bad).
  std::vector<double> mean(shift.size());
  if (backend.shares_host_memory()) {
    backend.column_stats(backend.borrow_or_upload(host), nullptr, mean.data(), variance.data());
    check_stats_finite(mean, variance, &host, where, first_row);
    if (needs_centring(mean, variance)) {
      shift = mean;
      storage_ = backend.upload_shifted(host, shift.data());
    } else {
      storage_ = backend.borrow_or_upload(host);
    }
  } else {
    storage_ = backend.upload(host);
    backend.column_stats(storage_, nullptr, mean.data(), variance.data());
    check_stats_finite(mean, variance, &host, where, first_row);
    if (needs_centring(mean, variance)) {
      shift = mean;
      backend.subtract_row_vector(storage_, shift.data());
    }
  }
  upload_weights();
}

KMeansData::KMeansData(Backend& be, MatrixView<const float> host, const std::vector<float>* w,
                       std::vector<double> known_shift)
    : backend(be),
      host_X(host),
      shift(std::move(known_shift)),
      variance(shift.size()),
      weights(w),
      x_(&storage_) {
  const bool centre = std::any_of(shift.begin(), shift.end(), [](double v) { return v != 0.0; });
  storage_ = centre ? backend.upload_shifted(host, shift.data()) : backend.borrow_or_upload(host);
  upload_weights();
}

KMeansData::KMeansData(Backend& be, const DeviceArray<float>& resident,
                       const std::vector<float>* w, const char* where)
    : backend(be),
      shift(static_cast<std::size_t>(resident.cols())),
      variance(shift.size()),
      weights(w),
      x_(&resident) {
  std::vector<double> mean(shift.size());
  backend.column_stats(resident, nullptr, mean.data(), variance.data());
  check_stats_finite(mean, variance, nullptr, where);
  if (needs_centring(mean, variance)) {
    shift = mean;
    storage_ = backend.copy_shifted(resident, shift.data());
    x_ = &storage_;
  }
  upload_weights();
}

// The caller checked the weights (validate in kmeans.cpp).
void KMeansData::upload_weights() {
  if (!weights) return;
  device_weights = backend.upload(*weights);
}

bool needs_centring(const std::vector<double>& mean, const std::vector<double>& variance) {
  const double offset = std::inner_product(mean.begin(), mean.end(), mean.begin(), 0.0);
  const double spread = std::accumulate(variance.begin(), variance.end(), 0.0);
  return offset > spread;
}

void KMeansData::shifted_row(int64_t i, float* out) const {
  if (host_X.empty()) {  // resident rows: X holds them already shifted
    const std::size_t row_bytes = static_cast<std::size_t>(d()) * sizeof(float);
    backend.copy_to_host(out, *x_->buffer(), static_cast<std::size_t>(i) * row_bytes, row_bytes);
    return;
  }
  const float* row = host_X.row(i);
  for (int64_t j = 0; j < d(); ++j) out[j] = static_cast<float>(row[j] - shift[j]);
}

DeviceArray<float> KMeansData::gather_shifted(const std::vector<int64_t>& ids) {
  Matrix<float> rows(static_cast<int64_t>(ids.size()), d());
  for (std::size_t r = 0; r < ids.size(); ++r) shifted_row(ids[r], rows.row(static_cast<int64_t>(r)));
  return backend.upload(rows.view());
}

int64_t draw_index(const std::vector<double>& cumulative, Rng& rng) {
  const double total = cumulative.back();
  const double target = rng.uniform() * total;
  // First row whose running sum exceeds the target: rows without mass add
  // nothing to the sum, so they are never chosen.
  auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
  if (it == cumulative.end()) {
    // Rounding left target ≥ total: take the last row with mass.
    it = std::lower_bound(cumulative.begin(), cumulative.end(), total);
  }
  return it - cumulative.begin();
}

Matrix<float> init_kmeans_plus_plus(KMeansData& data, int64_t k, Rng& rng) {
  const int64_t n = data.n(), d = data.d();
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  Matrix<float> centres(k, d);
  const int64_t first = draw_index(cumulative_mass(data, nullptr), rng);
  data.shifted_row(first, centres.row(0));
  DeviceArray<float> closest = data.backend.upload(std::vector<float>(n, INFINITY));
  DeviceArray<float> centre0 = data.backend.upload(MatrixView<const float>(centres.row(0), 1, d));
  data.backend.update_closest(data.X(), centre0, closest);

  std::vector<int64_t> candidate_ids(static_cast<std::size_t>(trials));
  std::vector<double> potentials(static_cast<std::size_t>(trials));
  std::vector<double> targets(static_cast<std::size_t>(trials));
  // The running sums stay on the backend (one buffer for every step): a
  // step brings back their total and the drawn rows, not n distances.
  DeviceArray<double> cumulative = data.backend.allocate<double>(n);
  // The rows' squared norms, once for all ~k steps.
  DeviceArray<float> x_sq_norms = data.backend.allocate<float>(n);
  data.backend.row_sq_norms(data.X(), x_sq_norms);
  for (int64_t c = 1; c < k; ++c) {
    // D² sampling of `trials` candidates; keep the one that lowers the
    // potential most (sklearn's greedy variant). The draws are made in the
    // order draw_index makes them, so every backend consumes rng alike.
    const double total = data.backend.cumulative_mass(closest, data.w(), cumulative);
    if (total > 0.0) {
      for (double& target : targets) target = rng.uniform() * total;
      data.backend.draw_from_cumulative(cumulative, targets.data(), trials, candidate_ids.data());
    } else {
      for (int64_t& id : candidate_ids) id = static_cast<int64_t>(rng.below(n));
    }
    DeviceArray<float> candidates = data.gather_shifted(candidate_ids);
    const int64_t best =
        data.backend.kmeanspp_step(data.X(), data.w(), closest, candidates, potentials.data(),
                                   &x_sq_norms);
    data.shifted_row(candidate_ids[static_cast<std::size_t>(best)], centres.row(c));
  }
  return centres;
}

Matrix<float> init_random(KMeansData& data, int64_t k, Rng& rng) {
  const std::vector<int64_t> ids =
      draw_distinct_rows([&](int64_t i) { return data.weight(i); }, data.n(), k, rng);
  Matrix<float> centres(k, data.d());
  for (int64_t c = 0; c < k; ++c) data.shifted_row(ids[c], centres.row(c));
  return centres;
}

Matrix<float> init_kmeans_parallel(KMeansData& data, const KMeansParams& params, Rng& rng) {
  const int64_t n = data.n(), k = params.n_clusters;
  std::vector<int64_t> chosen{draw_index(cumulative_mass(data, nullptr), rng)};
  std::vector<char> is_chosen(static_cast<std::size_t>(n), 0);
  is_chosen[chosen[0]] = 1;
  DeviceArray<float> closest = data.backend.upload(std::vector<float>(n, INFINITY));
  data.backend.update_closest(data.X(), data.gather_shifted(chosen), closest);

  // Oversampling rounds: every row joins with probability ℓ·w·D²/φ.
  const double ell = params.parallel_oversampling * static_cast<double>(k);
  std::vector<float> host_closest(static_cast<std::size_t>(n));
  for (int round = 0; round < params.parallel_rounds; ++round) {
    data.backend.download(closest, host_closest.data());
    double phi = 0.0;
    for (int64_t i = 0; i < n; ++i) phi += data.weight(i) * host_closest[i];
    if (phi <= 0.0) break;  // every row already coincides with a candidate
    std::vector<int64_t> added;
    for (int64_t i = 0; i < n; ++i) {
      const double p = std::min(1.0, ell * data.weight(i) * host_closest[i] / phi);
      if (!is_chosen[i] && rng.uniform() < p) {
        added.push_back(i);
        is_chosen[i] = 1;
      }
    }
    if (added.empty()) continue;
    data.backend.update_closest(data.X(), data.gather_shifted(added), closest);
    chosen.insert(chosen.end(), added.begin(), added.end());
  }
  if (static_cast<int64_t>(chosen.size()) < k) {
    // Too few distinct candidates (tiny or highly duplicated data):
    // k-means++ on the full data is cheap here and always succeeds.
    return init_kmeans_plus_plus(data, k, rng);
  }
  if (static_cast<int64_t>(chosen.size()) > params.parallel_max_candidates) {
    // Keep the cost of the re-clustering bounded on huge fleets.
    for (std::size_t i = chosen.size() - 1; i > 0; --i) {
      std::swap(chosen[i], chosen[rng.below(i + 1)]);
    }
    chosen.resize(static_cast<std::size_t>(std::max(params.parallel_max_candidates, k)));
  }

  // Weight each candidate by the rows nearest to it, then re-cluster the
  // candidates with weighted k-means++ and Lloyd.
  const int64_t m = static_cast<int64_t>(chosen.size());
  DeviceArray<float> candidates = data.gather_shifted(chosen);
  DeviceArray<int32_t> labels = data.backend.allocate<int32_t>(n);
  DeviceArray<float> dist = data.backend.allocate<float>(n);
  data.backend.nearest_centroid(data.X(), candidates, labels, dist);
  const std::vector<int32_t> host_labels = data.backend.download_vector(labels);
  // Summed in float64: a float32 sum stops growing at 2^24 rows.
  std::vector<double> weight_sum(static_cast<std::size_t>(m), 0.0);
  for (int64_t i = 0; i < n; ++i) weight_sum[host_labels[i]] += data.weight(i);
  const std::vector<float> candidate_weight(weight_sum.begin(), weight_sum.end());

  // The candidates are re-clustered where they are, on the caller's backend.
  KMeansParams sub;
  sub.n_clusters = k;
  sub.init = KMeansInit::kmeans_plus_plus;
  sub.n_init = 1;
  sub.max_iter = 300;
  sub.tol = params.tol;
  sub.seed = rng.next();
  KMeansResult r = kmeans_fit(data.backend, sub, candidates, &candidate_weight);
  return std::move(r.centers);
}

}  // namespace stray::internal
