// The Backend interface's default methods: what a backend gets without
// writing a primitive of its own.
#include "stray/core/backend.hpp"

#include <memory>
#include <type_traits>

#include "core/check.hpp"

namespace stray {

namespace {

// The default pruned assignment keeps only the distances nearest_centroid
// writes.
struct DistanceOnlyState final : AssignmentState {
  DeviceArray<float> distances;
};

}  // namespace

std::unique_ptr<AssignmentState> Backend::make_assignment_state() {
  return std::make_unique<DistanceOnlyState>();
}

void Backend::nearest_centroid_pruned(const DeviceArray<float>& X, const DeviceArray<float>& C,
                                      DeviceArray<int32_t>& labels, AssignmentState& state,
                                      const double* center_shift, bool fresh) {
  (void)center_shift;
  (void)fresh;
  auto* own = dynamic_cast<DistanceOnlyState*>(&state);
  internal::require(own != nullptr, ErrorCode::invalid_argument, "nearest_centroid_pruned",
                    "the state was made by another backend");
  if (own->distances.size() != X.rows()) own->distances = allocate<float>(X.rows());
  nearest_centroid(X, C, labels, own->distances);
}

int64_t Backend::count_label_changes(const DeviceArray<int32_t>& current,
                                     DeviceArray<int32_t>& previous) {
  internal::require(current.size() == previous.size(), ErrorCode::shape_mismatch,
                    "count_label_changes", "current has ", current.size(), " labels, previous ",
                    previous.size());
  const std::vector<int32_t> now = download_vector(current);
  const std::vector<int32_t> before = download_vector(previous);
  int64_t changed = 0;
  for (std::size_t i = 0; i < now.size(); ++i) changed += now[i] != before[i];
  if (!now.empty()) copy_to_device(*previous.buffer(), 0, now.data(), now.size() * sizeof(int32_t));
  return changed;
}

DeviceCsr Backend::borrow_or_upload_csr(const CsrView& host) {
  if (!shares_host_memory()) return upload_csr(host);
  internal::check_csr_arrays(host, "borrow_or_upload_csr");
  DeviceCsr out;
  out.rows = host.rows;
  out.cols = host.cols;
  out.nnz = host.nnz();
  // Views, as borrow_or_upload makes them: nothing is copied.
  const auto view = [](const auto* data, int64_t count) {
    using T = std::remove_const_t<std::remove_pointer_t<decltype(data)>>;
    return DeviceArray<T>(std::make_unique<BorrowedHostBuffer>(
                              data, static_cast<std::size_t>(count) * sizeof(T)),
                          count, 1);
  };
  out.indptr = view(host.indptr, host.rows + 1);
  out.indices = view(host.indices, out.nnz);
  out.values = view(host.values, out.nnz);
  return out;
}

}  // namespace stray
