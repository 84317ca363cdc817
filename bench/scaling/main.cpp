// fleet_scaling: one pipeline, one backend, one fleet size; a CSV row per
// step on stdout. bench/scaling/README.md has the ladder that calls it.
//
//   fleet_scaling dense|fleet|ceilings [--rows N] [--cols D] [--components C]
//                 [--clusters K] [--iterations I] [--lof-max-rows M]
//                 [--backend cpu|cuda] [--threads T] [--seed S]
//                 [--write-data DIR] [--no-header]
//
// Errors: one line on stderr, exit status 1 (2 for a usage error).
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "scaling.hpp"

namespace {

long long parse_integer(const char* flag, const char* text, long long min) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < min) {
    throw std::invalid_argument(std::string(flag) + " takes an integer >= " + std::to_string(min) +
                                ", not '" + text + "'");
  }
  return v;
}

// Fills `o` from the flags; returns false when the header is not wanted.
bool parse_flags(int argc, char** argv, scaling::Options& o) {
  bool header = true;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-header") {
      header = false;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value (or is unknown)");
    const char* value = argv[++i];
    if (flag == "--rows") o.rows = parse_integer("--rows", value, 2);
    else if (flag == "--cols") o.cols = parse_integer("--cols", value, 1);
    else if (flag == "--components") o.components = parse_integer("--components", value, 1);
    else if (flag == "--clusters") o.clusters = parse_integer("--clusters", value, 1);
    else if (flag == "--iterations")
      o.iterations = static_cast<int>(parse_integer("--iterations", value, 1));
    else if (flag == "--lof-max-rows") o.lof_max_rows = parse_integer("--lof-max-rows", value, 0);
    else if (flag == "--backend") o.backend = value;
    else if (flag == "--threads")
      o.threads = static_cast<int>(parse_integer("--threads", value, 0));
    else if (flag == "--seed") o.seed = static_cast<uint64_t>(parse_integer("--seed", value, 0));
    else if (flag == "--write-data") o.write_data = value;
    else throw std::invalid_argument("unknown flag '" + flag + "'");
  }
  if (o.kind == "dense" && (o.components > o.cols || o.clusters > o.rows)) {
    throw std::invalid_argument("--components must be <= --cols and --clusters <= --rows");
  }
  return header;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "dense") != 0 && std::strcmp(argv[1], "fleet") != 0 &&
                   std::strcmp(argv[1], "ceilings") != 0)) {
    std::fprintf(stderr, "usage: %s dense|fleet|ceilings [flags] (see bench/scaling/README.md)\n",
                 argv[0]);
    return 2;
  }
  scaling::Options o;
  o.kind = argv[1];
  try {
    const bool header = parse_flags(argc, argv, o);
    stray::BackendOptions options;
    options.cpu.threads = o.threads;
    auto backend = stray::make_backend(o.backend, options);
    if (header) scaling::RowPrinter::print_header();
    scaling::RowPrinter out(o, backend->name(), backend->device_description());
    if (o.kind == "dense") scaling::run_dense(o, *backend, out);
    else if (o.kind == "fleet") scaling::run_fleet(o, *backend, out);
    else scaling::run_ceilings(o, *backend, out);
    return 0;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "fleet_scaling: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet_scaling: %s\n", e.what());
    return 1;
  }
}
