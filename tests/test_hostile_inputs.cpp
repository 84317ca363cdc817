// Hostile inputs, one row each: what stray reads (or is asked to do) and
// the stray::Error it must answer with — never a crash, a hang, unbounded
// memory or a bare std::bad_alloc. The sanitizer build (scripts/sanitize)
// runs these too, so an out-of-bounds read or undefined behaviour on the
// way to the error fails them.
//
// Issue 15's cases and where each is checked (rows here unless named):
//   CSV header quoted over lines (use-after-free)   row; HostileCorpus.EventsCsv
//   all-zero CSR .npz (memcpy from null)            Npz.ReadsAnAllZeroMatrix (sanitizers)
//   crafted model, overflowing sizes                HostileModel.ClusterSizesCannotOverflow,
//                                                   HostileModel.IntegerFieldsReject...
//   pca_fit, kmeans_fit, lof_fit of 10^12 columns,  rows
//     make-blobs 1e12
//   open quote over many lines, no line breaks,     rows; EventsCsv.OpenQuoteOverManyLines...
//     /dev/zero as CSV, JSON Lines or osquery
//   zip bomb .npz                                   HostileNpz.* (inflation bounded)
//   --n-init, --power-iterations, synth             rows (AbsurdParametersAreRefused)
//     --entities and --per-kind out of bounds
//   names with bad UTF-8, escapes, NUL              HostileModel.NamesOfAnyBytesRoundTrip,
//                                                   FindingsJson.HostileNamesGiveValidJson,
//                                                   CliFleet.HostileNamesAreEscapedNotObeyed,
//                                                   EventsCsv.NulBytesAreKeptInNames
//   outputs all or none, input = output, devices,   rows; CliOutputs.* (test_cli_outputs.cpp)
//     modes, SIGINT, "-"
//   -k above the entities, demo --pca 1.5           rows
//   raw bytes in error lines                        rows; HostileModel.HeaderBytesInErrors...
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "stray/core/backend.hpp"
#include "stray/core/error.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/decomposition/pca.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/io/events.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "stray/neighbors/lof.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using stray::testing::TempDir;

struct HostileCase {
  const char* name;
  std::function<void(const TempDir&)> run;
  ErrorCode code;
  std::vector<std::string> fragments;  // in the message
};

void read_csv_text(const std::string& text, const EventReadOptions& options = {}) {
  std::istringstream in(text);
  read_events_csv(in, [](const Event&) {}, options);
}

std::string many_lines(const std::string& head, int lines, const std::string& line) {
  std::string s = head;
  for (int i = 0; i < lines; ++i) s += "\n" + line;
  return s + "\n";
}

/// Three empty rows of 10^12 columns: a CSR of a few bytes whose dense
/// form, or any array with an entry per column, no machine holds.
CsrView empty_rows_of_huge_width() {
  static const int64_t indptr[] = {0, 0, 0, 0};
  CsrView X;
  X.rows = 3;
  X.cols = 1'000'000'000'000;
  X.indptr = indptr;
  return X;
}

const std::vector<HostileCase>& cases() {
  static const std::vector<HostileCase> all = {
      {"csv header with a quoted field over growing lines",
       [](const TempDir&) {
         std::string t = "\"a header field long enough for the heap";
         for (int i = 1; i < 30; ++i) t += "\n" + std::string(static_cast<std::size_t>(i) * 64, 'x');
         read_csv_text(t + "\",feature\n");
       },
       ErrorCode::parse_error,
       {"line 1:", "got '\"a header field long enough for the heap\\x0axxx"}},
      {"csv without line breaks",
       [](const TempDir&) { read_csv_text(std::string(5u << 20, 'z')); },
       ErrorCode::parse_error,
       {"line 1: line longer than 1048576 bytes"}},
      {"csv from /dev/zero",
       [](const TempDir&) {
         read_events(std::filesystem::path("/dev/zero"), EventFormat::csv, [](const Event&) {});
       },
       ErrorCode::parse_error,
       {"/dev/zero line 1: line longer than"}},
      {"jsonl from /dev/zero",
       [](const TempDir&) {
         read_events(std::filesystem::path("/dev/zero"), EventFormat::jsonl, [](const Event&) {});
       },
       ErrorCode::parse_error,
       {"/dev/zero line 1: line longer than"}},
      {"osquery from /dev/zero",
       [](const TempDir&) {
         read_events(std::filesystem::path("/dev/zero"), EventFormat::osquery, [](const Event&) {});
       },
       ErrorCode::parse_error,
       {"/dev/zero line 1: line longer than"}},
      {"csv open quote over 300k lines",
       [](const TempDir&) { read_csv_text(many_lines("entity,feature\nh,\"x", 300000, "more")); },
       ErrorCode::parse_error,
       {"line 2: record longer than 1048576 bytes"}},
      {"csv error bytes: escapes and a line break",
       [](const TempDir&) { read_csv_text("entity,feature,value\nh,f,\"1\x1b[2J\n2\"\n"); },
       ErrorCode::parse_error,
       {"'1\\x1b[2J\\x0a2' is not a number"}},
      {"pca of a CSR with 10^12 columns",
       [](const TempDir&) {
         const CsrView X = empty_rows_of_huge_width();
         PcaParams p;
         p.n_components = 2;
         auto backend = make_backend("cpu");
         pca_fit(*backend, p, X);
       },
       ErrorCode::out_of_memory,
       {"pca_fit", "1000000000000", "more than this machine's memory"}},
      {"fleet without PCA on 300,000 hosts x 300,000 packages (360 GB dense)",
       [](const TempDir&) {
         // One package per host, each its own: a few MB of events whose
         // dense matrix no machine of ours holds.
         FleetPipelineParams p;
         p.pca.n_components = 0;
         p.pca.variance_fraction = 0.0;
         auto backend = make_backend("cpu");
         fit_fleet(*backend, p, [](const EventSink& sink) {
           for (int i = 0; i < 300000; ++i) {
             const std::string name = std::to_string(i);
             sink(Event{"h" + name, "package", "p" + name, 1.0});
           }
         });
       },
       ErrorCode::out_of_memory,
       {"fit_fleet", "the dense features without PCA", "300000 x 300000",
        "more than this machine's memory"}},
      {"k-means of a CSR with 10^12 columns",
       [](const TempDir&) {
         const CsrView X = empty_rows_of_huge_width();
         KMeansParams p;
         p.n_clusters = 2;
         auto backend = make_backend("cpu");
         kmeans_fit(*backend, p, X);
       },
       ErrorCode::out_of_memory,
       {"kmeans_fit", "the centres and their sums", "1000000000000",
        "more than this machine's memory"}},
      {"LOF of a CSR with 10^12 columns",
       [](const TempDir&) {
         const CsrView X = empty_rows_of_huge_width();
         auto backend = make_backend("cpu");
         lof_fit(*backend, LofParams{}, X);
       },
       ErrorCode::out_of_memory,
       {"csr_knn", "the column pointers of the reference rows", "1000000000000",
        "more than this machine's memory"}},
      {"npy header with terminal escapes",
       [](const TempDir& dir) {
         const std::string h = "{'descr': '<f4\x1b[31m', 'fortran_order': False, 'shape': (1,), }";
         std::string bytes = "\x93NUMPY\x01";
         bytes += '\0';
         bytes += static_cast<char>(h.size() + 1);
         bytes += '\0';
         stray::testing::write_bytes(dir.file("e.npy"), bytes + h + "\n" + std::string(4, '\0'));
         read_npy(dir.file("e.npy"));
       },
       ErrorCode::parse_error,
       {"unsupported dtype '<f4\\x1b[31m'"}},
  };
  return all;
}

TEST(HostileInputs, EachEndsInItsError) {
  for (const HostileCase& c : cases()) {
    SCOPED_TRACE(c.name);
    if (std::string(c.name).find("/dev/zero") != std::string::npos &&
        !std::filesystem::exists("/dev/zero")) {
      continue;
    }
    TempDir dir;
    stray::testing::expect_error([&] { c.run(dir); }, c.code, c.fragments);
  }
}

#ifdef STRAY_CLI_PATH
struct HostileCli {
  std::string args;
  int status;
  std::string fragment;  // in stderr
};

// Parameters far outside what a run can do are refused before it starts,
// in one line naming the option.
TEST(HostileInputs, AbsurdParametersAreRefused) {
  TempDir dir;
  const std::string out = dir.file("o");
  const std::string in = dir.file("in.npy");
  write_npy(in, std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f});
  const std::string two = dir.file("two.csv");
  stray::testing::write_bytes(two, "entity,feature\na,x\nb,y\n");
  const std::vector<HostileCli> rows = {
      {"make-blobs --samples 1000000000000 -o " + out + ".npy", 1,
       "more than this machine's memory"},
      {"make-blobs --samples 0 -o " + out + ".npy", 2, "--samples"},
      {"kmeans --n-init 2000000000 --samples 100 -k 2", 2, "--n-init"},
      {"kmeans --n-init -1 --samples 100 -k 2", 2, "--n-init"},
      {"pca --power-iterations 2000000000 -i " + in, 2, "--power-iterations"},
      {"synth --entities 1000000000000 --out " + out, 1, "--entities 1000000000000 is outside"},
      {"synth --entities 0 --out " + out, 1, "--entities 0 is outside"},
      {"synth --entities 1000 --per-kind 1000000 --out " + out, 1, "--per-kind 1000000"},
      {"synth --entities 100000 --per-kind 10001 --out " + out, 1, "--per-kind 10001"},
      // Parameters are never changed silently: an error says what to fix.
      {"kmeans --samples 10 -k 20", 1, "n_clusters=20"},
      {"fleet --events " + two + " -k 3", 1, "more than the 2 entities"},
      {"demo --entities 200 --pca 1.5", 1, "--pca must be a whole count"},
      // An output is never an input, and "-" (standard output) only once.
      {"kmeans -i " + in + " -k 1 --labels " + in, 1, "is also an input"},
      {"kmeans --samples 100 -k 2 --labels - --centers -", 1, "only one output"},
  };
  for (const HostileCli& row : rows) {
    SCOPED_TRACE(row.args);
    const stray::testing::CliRun r = stray::testing::run_cli(row.args);
    EXPECT_EQ(r.status, row.status) << r.err;
    EXPECT_NE(r.err.find(row.fragment), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(out + ".npy"));
  EXPECT_FALSE(std::filesystem::exists(out));
}
#endif

}  // namespace
}  // namespace stray
