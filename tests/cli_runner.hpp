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

#ifdef STRAY_CLI_PATH

namespace stray::testing {

struct CliRun {
  int status = -1;  // exit status (-1: did not run or was killed)
  std::string out, err;
};

/// Runs `stray <args>` through the shell; stdout and stderr captured apart.
inline CliRun run_cli(const std::string& args) {
  static int calls = 0;
  const std::filesystem::path err_file =
      std::filesystem::temp_directory_path() /
      ("stray_cli_err_" + std::to_string(::getpid()) + "_" + std::to_string(calls++));
  const std::string cmd = std::string(STRAY_CLI_PATH) + " " + args + " 2>" + err_file.string();
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

}  // namespace stray::testing

#endif  // STRAY_CLI_PATH
