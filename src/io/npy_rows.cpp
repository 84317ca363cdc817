// Reading a .npy matrix by blocks of rows (pread at the rows' offset).
#include "stray/io/npy_rows.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <system_error>
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
                             const std::vector<float>* sample_weight, bool read_ahead)
    : reader_(path), batch_rows_(batch_rows), weights_(sample_weight), read_ahead_(read_ahead) {
  require(batch_rows >= 1, ErrorCode::invalid_argument, "NpyRowBatches", "batch_rows=",
          batch_rows, " must be >= 1");
  require(!weights_ || static_cast<int64_t>(weights_->size()) == reader_.rows(),
          ErrorCode::shape_mismatch, "NpyRowBatches", path, ": sample_weight has ",
          weights_ ? weights_->size() : 0, " entries for ", reader_.rows(), " rows");
}

void NpyRowBatches::for_each(const std::function<void(const RowBatch&)>& visit) {
  const int64_t n = reader_.rows();
  if (n == 0) return;
  const int64_t buffer_rows = std::min(batch_rows_, n);
  for (int i = 0; i < (read_ahead_ ? 2 : 1); ++i) {
    if (buffers_[i].empty()) buffers_[i] = Matrix<float>(buffer_rows, cols());
  }
  const auto count_at = [&](int64_t begin) { return std::min(batch_rows_, n - begin); };
  const auto read = [this, count_at](int64_t begin, Matrix<float>* into) {
    reader_.read_rows(begin, count_at(begin), into->data());
  };
  read(0, &buffers_[0]);
  // The read of the next batch; its future's destructor waits for it, so
  // a visit that throws never leaves a thread writing into a buffer.
  std::future<void> next;
  std::vector<float> weights;
  for (int64_t begin = 0, b = 0; begin < n; begin += batch_rows_, ++b) {
    Matrix<float>& current = buffers_[read_ahead_ ? b % 2 : 0];
    if (next.valid()) next.get();  // this batch; rethrows its read error
    const int64_t following = begin + batch_rows_;
    if (read_ahead_ && following < n) {
      Matrix<float>* other = &buffers_[(b + 1) % 2];
      try {
        next = std::async(std::launch::async, read, following, other);
      } catch (const std::system_error&) {
        read(following, other);  // no thread to be had: read it now
      }
    }
    RowBatch batch;
    batch.dense = current.view().row_block(0, count_at(begin));
    if (weights_) {
      weights.assign(weights_->begin() + begin, weights_->begin() + begin + count_at(begin));
      batch.weights = &weights;
    }
    visit(batch);
    if (!read_ahead_ && following < n) read(following, &current);
  }
}

}  // namespace stray
