// Read-only file access by offset (pread), for the .npy and .npz readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace stray::internal {

class InputFile {
 public:
  /// Opens `path`; throws ErrorCode::io_error naming `where` when it cannot.
  InputFile(const std::string& path, const char* where);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// File size in bytes.
  uint64_t size() const { return size_; }
  /// Reads up to `bytes` at `offset`; returns how many were read (fewer only
  /// at the end of the file). Throws ErrorCode::io_error on a read error.
  std::size_t read_at(uint64_t offset, void* dst, std::size_t bytes) const;

 private:
  std::string path_;
  const char* where_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace stray::internal
