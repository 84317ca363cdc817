// What the fit over batches keeps of a dense batch between its passes, so
// that a pass can skip the rows whose nearest centre cannot have changed
// (the backend's pruned assignment, as kmeans_fit's iterations use it).
#pragma once

#include <memory>
#include <vector>

#include "stray/cluster/kmeans_statistics.hpp"

namespace stray::internal {

struct BatchBounds {
  DeviceArray<int32_t> labels;            // [rows] the batch's labels, on the backend
  std::unique_ptr<AssignmentState> state;  // the backend's bounds for these rows
  std::vector<double> shift;              // [d] the batch's centring, decided on its first pass
};

/// kmeans_statistics of dense rows X against `centers`, keeping `bounds`
/// (empty on a batch's first pass) for the next pass over the same rows.
/// `previous` holds the centres of that pass (ignored on the first): each
/// centre's movement is measured in the coordinates the backend sees.
KMeansStatistics pruned_statistics(Backend& backend, MatrixView<const float> centers,
                                   MatrixView<const float> previous, MatrixView<const float> X,
                                   const std::vector<float>* sample_weight, int64_t first_row,
                                   BatchBounds& bounds);

}  // namespace stray::internal
