#include "stray/io/files.hpp"

#include "io/atomic_file.hpp"

namespace stray {

void write_file_atomic(const std::string& path, std::string_view bytes) {
  internal::AtomicFile file(path, "write_file_atomic");
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace stray
