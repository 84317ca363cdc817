#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/check.hpp"

namespace stray::internal {

namespace {

constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

std::string random_suffix() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<int> pick(0, static_cast<int>(sizeof(kAlphabet)) - 2);
  std::string s(6, 'x');
  for (char& c : s) c = kAlphabet[pick(rd)];
  return s;
}

// The file a path names: symbolic links followed (a dangling one to the
// path it points at), so that the rename replaces the file and not the link.
std::string resolve_links(const std::string& path, const char* where) {
  namespace fs = std::filesystem;
  fs::path p(path);
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) return p.string();
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) fail(ErrorCode::io_error, where, path, ": cannot read the symbolic link: ", ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  fail(ErrorCode::io_error, where, path, ": too many levels of symbolic links");
}

}  // namespace

AtomicFile::AtomicFile(std::string path, const char* where) : path_(std::move(path)), where_(where) {
  require(!path_.empty(), ErrorCode::io_error, where_, "empty output path");
  path_ = resolve_links(path_, where_);
  struct stat existing {};
  const bool exists = ::stat(path_.c_str(), &existing) == 0;
  if (exists && S_ISDIR(existing.st_mode)) {
    fail(ErrorCode::io_error, where_, path_, ": is a directory");
  }
  if (exists && !S_ISREG(existing.st_mode)) {
    // A device or a pipe (/dev/null, /dev/stdout, a FIFO): written in place.
    // Renaming over it would replace the node itself (as root, /dev/null).
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) fail(ErrorCode::io_error, where_, path_, ": cannot open: ", std::strerror(errno));
    in_place_ = true;
    buffer_.reserve(kBufferBytes);
    return;
  }
  // O_EXCL with a random suffix rather than mkstemp: mkstemp creates mode
  // 0600, while the final file should get the usual 0666 & ~umask.
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path_ = path_ + ".tmp-" + random_suffix();
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    if (errno != EEXIST) {
      const int err = errno;
      temp_path_.clear();
      fail(ErrorCode::io_error, where_, path_, ": cannot create temporary file: ",
           std::strerror(err));
    }
  }
  if (fd_ < 0) {
    temp_path_.clear();
    fail(ErrorCode::io_error, where_, path_, ": cannot create a unique temporary file");
  }
  if (exists) {
    // The replacement keeps the permissions (and, where allowed, the owner)
    // of the file it replaces.
    if (::geteuid() == 0) (void)::fchown(fd_, existing.st_uid, existing.st_gid);
    if (::fchmod(fd_, existing.st_mode & 07777) != 0) fail_errno("cannot set the mode", errno);
  }
  buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

void AtomicFile::fail_errno(const char* what, int err) {
  discard();
  fail(ErrorCode::io_error, where_, path_, ": ", what, ": ", std::strerror(err));
}

void AtomicFile::write_fd(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno("write failed", errno);
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::flush_buffer() {
  if (!buffer_.empty()) {
    write_fd(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
}

void AtomicFile::write(const void* data, std::size_t bytes) {
  require(fd_ >= 0 && !committed_, ErrorCode::io_error, where_, path_,
          ": write after the file was closed");
  offset_ += bytes;
  if (buffer_.size() + bytes <= kBufferBytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    buffer_.insert(buffer_.end(), p, p + bytes);
    return;
  }
  flush_buffer();
  if (bytes >= kBufferBytes) {
    write_fd(data, bytes);
  } else {
    const auto* p = static_cast<const unsigned char*>(data);
    buffer_.insert(buffer_.end(), p, p + bytes);
  }
}

void AtomicFile::commit() {
  require(fd_ >= 0 && !committed_, ErrorCode::io_error, where_, path_, ": commit twice");
  flush_buffer();
  // fsync before rename: otherwise a crash can leave the new name pointing
  // at an empty file on some file systems.
  if (!in_place_ && ::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
    fail_errno("fsync failed", errno);
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_errno("close failed", errno);
  if (in_place_) {
    committed_ = true;
    return;
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail_errno("rename failed", errno);
  temp_path_.clear();
  committed_ = true;
}

}  // namespace stray::internal
