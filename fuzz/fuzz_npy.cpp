// Fuzz target: .npy files (format 1.0/2.0/3.0, every dtype the reader
// converts), through the public readers.
#include "fuzz_common.hpp"
#include "stray/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static stray::fuzz::ScratchFile file(".npy");
  const std::string& path = file.write(data, size);
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npy(path); });
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npy_float(path); });
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npy_int(path); });
  return 0;
}
