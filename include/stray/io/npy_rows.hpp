// stray — a .npy matrix read a block of rows at a time: fleets larger than
// memory reach k-means (cluster/kmeans_batches.hpp) without being loaded.
//
// Reads what read_npy_float reads (any supported dtype, converted to
// float32; a 1-D array is one column), checking the header and the file's
// size when opened. Errors are read_npy's: io_error, parse_error, naming
// the path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stray/core/matrix.hpp"
#include "stray/core/row_batches.hpp"

namespace stray {

class NpyRowReader {
 public:
  explicit NpyRowReader(const std::string& path);
  ~NpyRowReader();
  NpyRowReader(NpyRowReader&&) noexcept;
  NpyRowReader& operator=(NpyRowReader&&) noexcept;

  int64_t rows() const;
  int64_t cols() const;
  /// Rows [begin, begin + count) as float32; the range must lie in the
  /// file (ErrorCode::invalid_argument otherwise). Non-finite values are
  /// kept (callers validate).
  Matrix<float> read_rows(int64_t begin, int64_t count) const;
  /// The same into `out` [count x cols], so a caller can reuse one buffer.
  void read_rows(int64_t begin, int64_t count, float* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The rows of a .npy file as a source of batches of `batch_rows` rows,
/// read from the file on every pass, with optional sample weights [rows]
/// (kept by reference: they must outlive it).
///
/// With `read_ahead` (the default) the next batch is read on a thread of
/// its own while the current one is visited, so reading overlaps the work
/// on the rows: two batches are in memory instead of one. The batches and
/// their order are the same either way; a read error reaches the caller
/// at the batch it concerns.
class NpyRowBatches : public RowBatches {
 public:
  NpyRowBatches(const std::string& path, int64_t batch_rows,
                const std::vector<float>* sample_weight = nullptr, bool read_ahead = true);
  int64_t rows() const { return reader_.rows(); }
  int64_t cols() const { return reader_.cols(); }
  void for_each(const std::function<void(const RowBatch&)>& visit) override;

 private:
  NpyRowReader reader_;
  int64_t batch_rows_;
  const std::vector<float>* weights_;
  bool read_ahead_;
  Matrix<float> buffers_[2];  // the batch visited and the one read meanwhile, reused
};

}  // namespace stray
