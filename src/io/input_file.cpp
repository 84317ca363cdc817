#include "io/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/check.hpp"

namespace stray::internal {

InputFile::InputFile(const std::string& path, const char* where) : path_(path), where_(where) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail(ErrorCode::io_error, where_, path_, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    fail(ErrorCode::io_error, where_, path_, ": cannot stat: ", std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd_);
    fail(ErrorCode::io_error, where_, path_, ": is a directory");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read_at(uint64_t offset, void* dst, std::size_t bytes) const {
  auto* p = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < bytes) {
    // Linux transfers at most ~2 GiB per call; larger reads loop.
    const std::size_t chunk = std::min<std::size_t>(bytes - done, std::size_t{1} << 30);
    const ssize_t n = ::pread(fd_, p + done, chunk, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(ErrorCode::io_error, where_, path_, ": read failed: ", std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace stray::internal
