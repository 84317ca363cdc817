// Shared by the fuzz targets: what counts as a finding. A reader may
// accept its input or refuse it with a stray::Error; anything else — a
// crash, a sanitizer report, another exception, a hang, memory past the
// run's limit — is a bug, and libFuzzer reports it.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "stray/core/error.hpp"

namespace stray::fuzz {

/// Runs `f`; a stray::Error is the reader refusing the input (fine).
template <typename F>
void expect_accept_or_error(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

/// For the readers that take a path: the input as a file of this process's
/// own, rewritten for every input.
class ScratchFile {
 public:
  explicit ScratchFile(const char* suffix) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/stray-fuzz-" +
            std::to_string(::getpid()) + suffix;
  }
  ~ScratchFile() { std::remove(path_.c_str()); }
  const std::string& write(const uint8_t* data, std::size_t size) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) __builtin_trap();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    std::fclose(f);
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace stray::fuzz
