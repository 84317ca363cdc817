// write_file_atomic: the whole file or nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "stray/core/error.hpp"
#include "stray/io/files.hpp"

namespace stray {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Files, WriteFileAtomicReplacesWholeAndLeavesNoTemporary) {
  const fs::path dir = fs::temp_directory_path() / ("stray_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path target = dir / "out.json";
  write_file_atomic(target.string(), "first version, longer than the second\n");
  write_file_atomic(target.string(), "second\n");
  EXPECT_EQ(read_all(target), "second\n");
  std::string binary("a\0b", 3);
  write_file_atomic(target.string(), binary);
  EXPECT_EQ(read_all(target), binary);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1);  // no temporaries left behind

  try {
    write_file_atomic((dir / "missing" / "out.json").string(), "x");
    FAIL() << "expected stray::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io_error);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_all(target), binary);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stray
