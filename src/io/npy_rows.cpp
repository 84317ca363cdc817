// Reading a .npy matrix by blocks of rows (pread at the rows' offset).
#include "stray/io/npy_rows.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/check.hpp"
#include "io/input_file.hpp"
#include "io/npy_format.hpp"

namespace stray {

using internal::fail;
using internal::require;

namespace {
constexpr const char* kWhere = "NpyRowReader";
}  // namespace

struct NpyRowReader::Impl {
  explicit Impl(const std::string& p) : path(p), file(p, kWhere) {}
  std::string path;
  internal::InputFile file;
  internal::NpyHeader header;
  int64_t rows = 0;
  int64_t cols = 0;
};

NpyRowReader::NpyRowReader(const std::string& path) : impl_(std::make_unique<Impl>(path)) {
  internal::NpyHeader h = internal::read_npy_header(impl_->file, kWhere, path);
  internal::natural_type(h.dtype, kWhere, path);  // a numeric dtype
  impl_->rows = h.shape[0];
  impl_->cols = h.shape.size() == 2 ? h.shape[1] : 1;
  impl_->header = std::move(h);
}

NpyRowReader::~NpyRowReader() = default;
NpyRowReader::NpyRowReader(NpyRowReader&&) noexcept = default;
NpyRowReader& NpyRowReader::operator=(NpyRowReader&&) noexcept = default;

int64_t NpyRowReader::rows() const { return impl_->rows; }
int64_t NpyRowReader::cols() const { return impl_->cols; }

Matrix<float> NpyRowReader::read_rows(int64_t begin, int64_t count) const {
  Matrix<float> out(std::max<int64_t>(count, 0), impl_->cols);
  read_rows(begin, count, out.data());
  return out;
}

void NpyRowReader::read_rows(int64_t begin, int64_t count, float* out) const {
  const Impl& f = *impl_;
  require(begin >= 0 && count >= 0 && begin <= f.rows && count <= f.rows - begin,
          ErrorCode::invalid_argument, kWhere, f.path, ": rows [", begin, ", ", begin + count,
          ") are outside the file's ", f.rows);
  const int64_t elements = checked_mul(count, f.cols, kWhere);
  const auto item = static_cast<uint64_t>(f.header.dtype.itemsize);
  const uint64_t offset =
      f.header.data_offset + static_cast<uint64_t>(begin) * static_cast<uint64_t>(f.cols) * item;
  const std::size_t bytes = static_cast<std::size_t>(elements) * item;
  const auto check = [&](std::size_t got) {
    if (got < bytes) {
      fail(ErrorCode::parse_error, kWhere, f.path, ": truncated data at rows [", begin, ", ",
           begin + count, ") (file shrank while reading?)");
    }
  };
  if (internal::is_exact_layout<float>(f.header.dtype)) {
    check(f.file.read_at(offset, out, bytes));
    return;
  }
  std::vector<unsigned char> raw(bytes);
  check(f.file.read_at(offset, raw.data(), bytes));
  internal::convert_elements<float>(f.header.dtype, raw.data(), elements, out, kWhere, f.path);
}

NpyRowBatches::NpyRowBatches(const std::string& path, int64_t batch_rows,
                             const std::vector<float>* sample_weight)
    : reader_(path), batch_rows_(batch_rows), weights_(sample_weight) {
  require(batch_rows >= 1, ErrorCode::invalid_argument, "NpyRowBatches", "batch_rows=",
          batch_rows, " must be >= 1");
  require(!weights_ || static_cast<int64_t>(weights_->size()) == reader_.rows(),
          ErrorCode::shape_mismatch, "NpyRowBatches", path, ": sample_weight has ",
          weights_ ? weights_->size() : 0, " entries for ", reader_.rows(), " rows");
}

void NpyRowBatches::for_each(const std::function<void(const RowBatch&)>& visit) {
  std::vector<float> weights;
  for (int64_t begin = 0; begin < reader_.rows(); begin += batch_rows_) {
    const int64_t count = std::min(batch_rows_, reader_.rows() - begin);
    if (buffer_.empty()) buffer_ = Matrix<float>(std::min(batch_rows_, reader_.rows()), cols());
    reader_.read_rows(begin, count, buffer_.data());
    RowBatch batch;
    batch.dense = buffer_.view().row_block(0, count);
    if (weights_) {
      weights.assign(weights_->begin() + begin, weights_->begin() + begin + count);
      batch.weights = &weights;
    }
    visit(batch);
  }
}

}  // namespace stray
