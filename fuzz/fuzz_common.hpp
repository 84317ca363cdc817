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
#include <sstream>
#include <string>
#include <string_view>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray::fuzz {

/// Runs `f`; a stray::Error is the reader refusing the input (fine).
template <typename F>
void expect_accept_or_error(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

/// Runs an event reader (read_events_csv, _jsonl, _osquery: stream, sink,
/// options) on the input, from memory. Each event's views are read in the
/// sink, so a view into freed or reused memory is caught there. Returns 0.
template <typename Reader>
int fuzz_event_reader(const uint8_t* data, std::size_t size, Reader&& read) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  EventReadOptions options;
  options.max_line_bytes = 1 << 16;  // small, so the limit's paths are reached
  std::size_t bytes = 0;
  expect_accept_or_error([&] {
    read(
        in,
        [&](const Event& e) {
          bytes += e.entity.size() + e.group.size() + e.feature.size();
          for (const char c : e.entity) bytes += static_cast<unsigned char>(c) & 1u;
          for (const char c : e.feature) bytes += static_cast<unsigned char>(c) & 1u;
        },
        options);
  });
  return bytes == static_cast<std::size_t>(-1);  // keeps the reads
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
