// Fuzz target: .npy files (format 1.0/2.0/3.0, every dtype the reader
// converts), through the public readers — whole, and a block of rows at a
// time (NpyRowReader: the first and last rows).
#include <algorithm>

#include "fuzz_common.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npy_rows.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static stray::fuzz::ScratchFile file(".npy");
  const std::string& path = file.write(data, size);
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npy(path); });
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npy_float(path); });
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npy_int(path); });
  stray::fuzz::expect_accept_or_error([&] {
    const stray::NpyRowReader reader(path);
    const int64_t block = std::min<int64_t>(reader.rows(), 7);
    (void)reader.read_rows(0, block);
    (void)reader.read_rows(reader.rows() - block, block);
  });
  return 0;
}
