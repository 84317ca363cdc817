// A command's outputs as one unit (examples/cli/run_outputs.hpp): all are
// replaced or none, never an input, never a device node, modes kept, "-"
// for standard output, and no temporary left behind by an interrupt.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "stray/io/npy.hpp"
#include "temp_dir.hpp"

#ifdef STRAY_CLI_PATH

namespace stray {
namespace {

namespace fs = std::filesystem;
using stray::testing::run_cli;
using stray::testing::slurp;
using stray::testing::TempDir;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool has_temporary(const TempDir& dir) {
  for (const std::string& name : dir.entries()) {
    if (name.find(".tmp-") != std::string::npos) return true;
  }
  return false;
}

// The second output fails while it is written (/dev/full: every write is
// ENOSPC); the first, already complete, must not replace its file.
TEST(CliOutputs, ALaterFailureReplacesNoEarlierOutput) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  TempDir dir;
  const std::string labels = dir.file("labels.npy");
  write_text(labels, "old labels");
  const auto r = run_cli("kmeans --samples 200 -k 2 --labels " + labels + " --centers /dev/full");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("/dev/full"), std::string::npos) << r.err;
  EXPECT_EQ(stray::testing::lines_of(r.err), 1) << r.err;
  EXPECT_EQ(slurp(labels), "old labels");
  EXPECT_FALSE(has_temporary(dir));
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
}

TEST(CliOutputs, AnInputIsNeverAnOutput) {
  TempDir dir;
  const std::string x = dir.file("x.npy");
  write_npy(x, std::vector<float>(40, 1.0f));
  const std::string before = slurp(x);
  fs::create_symlink(x, dir.file("link.npy"));
  for (const std::string& args :
       {"kmeans -i " + x + " -k 2 --labels " + x, "kmeans -i " + x + " -k 2 --centers " + dir.file("link.npy"),
        "kmeans -i " + dir.file("link.npy") + " -k 2 --labels " + dir.file("./x.npy"),
        "pca -i " + x + " -c 1 --transform " + x}) {
    SCOPED_TRACE(args);
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 1) << r.err;  // refused before any work: invalid_argument
    EXPECT_NE(r.err.find("is also an input"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(x), before);
  }
  const auto r = run_cli("make-blobs --samples 10 -o " + dir.file("a.npy") + " --labels " + dir.file("a.npy"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("name the same file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.file("a.npy")));
}

// As root, renaming over /dev/null would replace the node with a file.
TEST(CliOutputs, DeviceNodesAreWrittenNotReplaced) {
  if (!fs::is_character_file("/dev/null")) GTEST_SKIP() << "no /dev/null here";
  // Both outputs discarded: a device may take several.
  const auto r = run_cli("kmeans --samples 100 -k 2 --labels /dev/null --centers /dev/null --json");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST(CliOutputs, AReplacedFileKeepsItsModeAndLinksStay) {
  TempDir dir;
  const std::string target = dir.file("target.npy");
  write_text(target, "old");
  ASSERT_EQ(::chmod(target.c_str(), 0640), 0);
  fs::create_symlink("target.npy", dir.file("link.npy"));
  const auto r = run_cli("make-blobs --samples 10 --features 2 -o " + dir.file("link.npy"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(dir.file("link.npy")));
  EXPECT_EQ(read_npy_float(target).rows(), 10);
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_FALSE(has_temporary(dir));
}

TEST(CliOutputs, DashIsStandardOutput) {
  TempDir dir;
  const auto r = run_cli("kmeans --samples 100 -k 3 --labels -");
  ASSERT_EQ(r.status, 0) << r.err;
  write_text(dir.file("labels.npy"), r.out);  // stdout is the file, nothing else
  EXPECT_EQ(read_npy_int(dir.file("labels.npy")).size(), 100u);
  const auto both = run_cli("kmeans --samples 100 -k 3 --labels - --json");
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.err.find("--json and an output on standard output"), std::string::npos) << both.err;
  const auto twice = run_cli("kmeans --samples 100 -k 3 --labels - --centers -");
  EXPECT_NE(twice.status, 0);
  EXPECT_NE(twice.err.find("only one output"), std::string::npos) << twice.err;
}

// The run blocks opening a FIFO (in-place outputs are written at commit,
// before any rename) while the other output waits as a temporary; SIGINT
// then must remove it and end the process as SIGINT does.
TEST(CliOutputs, AnInterruptLeavesNoTemporary) {
  TempDir dir;
  const std::string fifo = dir.file("centers.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string labels = dir.file("labels.npy");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setenv("TMPDIR", dir.path().c_str(), 1);  // in-place outputs stage there
    ::execl(STRAY_CLI_PATH, STRAY_CLI_PATH, "kmeans", "--samples", "1000", "-k", "2", "--labels",
            labels.c_str(), "--centers", fifo.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool staged = false;
  for (int i = 0; i < 600 && !staged; ++i) {  // up to a minute (sanitizer builds are slow)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int n = 0;
    for (const std::string& name : dir.entries()) n += name.find(".tmp-") != std::string::npos;
    staged = n == 2;  // the labels' temporary and the FIFO's staged copy
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(staged);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << status;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"centers.fifo"});
}

}  // namespace
}  // namespace stray

#endif  // STRAY_CLI_PATH
