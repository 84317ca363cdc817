// Runs the `stray` binary the way a user's shell would, for the CLI suites.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace stray::testing {

struct CliRun {
  int status = -1;  // exit status (-1: did not run or was killed)
  std::string out, err;
};

/// Runs `<program> <args>` through the shell; stdout and stderr captured apart.
inline CliRun run_program(const std::string& program, const std::string& args) {
  static int calls = 0;
  const std::filesystem::path err_file =
      std::filesystem::temp_directory_path() /
      ("stray_cli_err_" + std::to_string(::getpid()) + "_" + std::to_string(calls++));
  const std::string cmd = program + " " + args + " 2>" + err_file.string();
  CliRun r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), got);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(err_file);
  return r;
}

#ifdef STRAY_CLI_PATH
/// Runs `stray <args>` through the shell; stdout and stderr captured apart.
inline CliRun run_cli(const std::string& args) { return run_program(STRAY_CLI_PATH, args); }
#endif

/// A file's whole contents ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Lines in `s` (its '\n's): a CLI error must be one.
inline int lines_of(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace stray::testing
