// write_file_atomic: the whole file or nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"

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

// A symbolic link is followed: its target is replaced, the link stays a
// link (renaming over it would have replaced the link with a file).
TEST(Files, SymbolicLinksAreFollowed) {
  stray::testing::TempDir dir;
  const fs::path target = dir.path() / "real.json";
  const fs::path link = dir.path() / "link.json";
  write_file_atomic(target.string(), "old\n");
  fs::create_symlink("real.json", link);  // relative, as users make them
  write_file_atomic(link.string(), "new\n");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  EXPECT_EQ(read_all(target), "new\n");
  // A dangling link: the file it names is created.
  const fs::path dangling = dir.path() / "dangling.json";
  fs::create_symlink("made.json", dangling);
  write_file_atomic(dangling.string(), "made\n");
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dangling)));
  EXPECT_EQ(read_all(dir.path() / "made.json"), "made\n");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"dangling.json", "link.json", "made.json",
                                                     "real.json"}));
}

TEST(Files, AReplacedFileKeepsItsMode) {
  stray::testing::TempDir dir;
  const fs::path target = dir.path() / "private.json";
  write_file_atomic(target.string(), "v1\n");
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write);
  write_file_atomic(target.string(), "v2\n");
  EXPECT_EQ(fs::status(target).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read_all(target), "v2\n");
}

// A FIFO (like /dev/null or /dev/stdout, not a regular file) is written in
// place; renaming over it would replace the node itself.
TEST(Files, DevicesAndPipesAreWrittenInPlace) {
  stray::testing::TempDir dir;
  const fs::path fifo = dir.path() / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opened for reading first (without blocking), so the write finds a reader
  // and the few bytes wait in the pipe.
  const int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rd, 0);
  write_file_atomic(fifo.string(), "through the pipe\n");
  char buf[64] = {};
  const ssize_t got = ::read(rd, buf, sizeof buf);
  ::close(rd);
  EXPECT_EQ(std::string(buf, got > 0 ? static_cast<std::size_t>(got) : 0), "through the pipe\n");
  ASSERT_TRUE(fs::is_fifo(fs::status(fifo))) << "the pipe was replaced";
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"pipe"});
  // The device node stays one (it would be replaced by a file if this ran
  // as root with the rename, which is why the pipe is checked first).
  if (fs::is_character_file(fs::status("/dev/null"))) {
    write_file_atomic("/dev/null", "discarded\n");
    EXPECT_TRUE(fs::is_character_file(fs::status("/dev/null")));
  }
}

}  // namespace
}  // namespace stray
