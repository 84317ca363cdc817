// Fuzz target: scipy.sparse CSR .npz files (zip, zip64, stored and
// deflated members), through read_npz_csr.
#include "fuzz_common.hpp"
#include "stray/io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static stray::fuzz::ScratchFile file(".npz");
  const std::string& path = file.write(data, size);
  stray::fuzz::expect_accept_or_error([&] { (void)stray::read_npz_csr(path); });
  return 0;
}
