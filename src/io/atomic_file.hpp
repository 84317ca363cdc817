// Output files written atomically: bytes go to `path + ".tmp-XXXXXX"` in the
// same directory, which is renamed over `path` only once everything was
// written and flushed. Readers never see a half-written file, and a failure
// (or an exception between open and commit) removes the temporary.
//
// A symbolic link is followed: the file it points to is replaced, the link
// stays. A file replaced keeps its permissions (and, as root, its owner).
// A destination that exists and is not a regular file (/dev/null, a FIFO,
// /dev/stdout) is written in place, not replaced: there is no atomicity to
// be had there, and renaming over a device node would replace the node.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace stray::internal {

class AtomicFile {
 public:
  /// Creates the temporary file; throws ErrorCode::io_error naming `where`
  /// (the public function) and `path` when it cannot.
  AtomicFile(std::string path, const char* where);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes (buffered; large blocks go straight to the file).
  void write(const void* data, std::size_t bytes);
  /// Bytes written so far.
  std::size_t offset() const { return offset_; }
  /// Flushes, syncs, closes and renames over the destination.
  void commit();

  const std::string& temp_path() const { return temp_path_; }

 private:
  void flush_buffer();
  void write_fd(const void* data, std::size_t bytes);
  [[noreturn]] void fail_errno(const char* what, int err);
  void discard() noexcept;

  std::string path_;
  std::string temp_path_;
  const char* where_;
  int fd_ = -1;
  bool committed_ = false;
  bool in_place_ = false;  // a device or pipe, written directly
  std::size_t offset_ = 0;
  std::vector<unsigned char> buffer_;
};

}  // namespace stray::internal
