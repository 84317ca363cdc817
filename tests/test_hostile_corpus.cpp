// The fuzzers' seed corpora (fuzz/corpus/<target>/, with any input a fuzzer
// once crashed on added there) replayed as ordinary tests: each file must
// be read, or refused with a stray::Error, exactly as the fuzz target does
// it. The sanitizer build runs these too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "../fuzz/fuzz_blocks.hpp"
#include "../fuzz/fuzz_json_log_mapping.hpp"
#include "stray/core/error.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/io/events.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

namespace fs = std::filesystem;

fs::path corpus(const std::string& target) {
  return fs::path(STRAY_FIXTURES_DIR) / ".." / ".." / "fuzz" / "corpus" / target;
}

std::vector<fs::path> files_of(const std::string& target) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(corpus(target))) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string bytes_of(const fs::path& p) {
  const std::vector<unsigned char> b = stray::testing::read_bytes(p.string());
  return std::string(b.begin(), b.end());
}

// Runs `f` on every file of a corpus: it may succeed or throw stray::Error;
// anything else fails the test. Returns how many were accepted.
template <typename F>
int replay(const std::string& target, F&& f) {
  const std::vector<fs::path> files = files_of(target);
  EXPECT_FALSE(files.empty()) << "no seed corpus for " << target;
  int accepted = 0;
  for (const fs::path& p : files) {
    SCOPED_TRACE(p.string());
    try {
      f(p);
      ++accepted;
    } catch (const Error&) {
    }
  }
  return accepted;
}

template <typename Reader>
void replay_events(const std::string& target, Reader read) {
  const int accepted = replay(target, [&](const fs::path& p) {
    std::istringstream in(bytes_of(p));
    EventReadOptions options;
    options.max_line_bytes = 1 << 16;  // as the fuzz target
    read(in, [](const Event&) {}, options);
  });
  EXPECT_GT(accepted, 0) << target << ": the seeds should include valid inputs";
}

TEST(HostileCorpus, EventsCsv) {
  replay_events("events_csv", [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
    return read_events_csv(in, s, o);
  });
}

TEST(HostileCorpus, EventsJsonl) {
  replay_events("events_jsonl", [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
    return read_events_jsonl(in, s, o);
  });
}

// Through the JSON log fuzz target's own mapping, in blocks as it reads.
ReadStats read_json_log_fuzz_blocks(std::istream& in, const EventSink& sink,
                                    const EventReadOptions& options, std::size_t block_bytes) {
  EventReadOptions mapped = options;
  mapped.json_log = fuzz::json_log_fuzz_mapping();
  return fleet::read_events_json_log_blocks(in, sink, mapped, block_bytes);
}

TEST(HostileCorpus, EventsJsonLog) {
  replay_events("events_json_log",
                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                  return read_json_log_fuzz_blocks(in, s, o, fleet::kBlockBytes);
                });
  for (const fs::path& p : files_of("events_json_log")) {
    SCOPED_TRACE(p.string());
    const std::string bytes = bytes_of(p);
    EXPECT_TRUE(fuzz::blocks_read_alike(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size(), read_json_log_fuzz_blocks));
  }
}

// The CSV and JSON Lines targets also read each input in small blocks on
// two threads, which must read as one block does.
TEST(HostileCorpus, EventsInSmallBlocksReadAsInOne) {
  for (const std::string target : {"events_csv", "events_jsonl"}) {
    for (const fs::path& p : files_of(target)) {
      SCOPED_TRACE(p.string());
      const std::string bytes = bytes_of(p);
      const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
      EXPECT_TRUE(target == "events_csv"
                      ? fuzz::blocks_read_alike(data, bytes.size(), fleet::read_events_csv_blocks)
                      : fuzz::blocks_read_alike(data, bytes.size(),
                                                fleet::read_events_jsonl_blocks));
    }
  }
}

TEST(HostileCorpus, EventsOsquery) {
  replay_events("events_osquery",
                [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
                  return read_events_osquery(in, s, o);
                });
}

TEST(HostileCorpus, Sbom) {
  replay_events("sbom", [](std::istream& in, const EventSink& s, const EventReadOptions& o) {
    EventReadOptions named = o;  // as the fuzz target
    named.source_name = "fuzz.json";
    named.sbom_versions = true;
    return read_events_sbom(in, s, named);
  });
}

TEST(HostileCorpus, Npy) {
  EXPECT_GT(replay("npy", [](const fs::path& p) { (void)read_npy(p.string()); }), 0);
  replay("npy", [](const fs::path& p) { (void)read_npy_float(p.string()); });
  replay("npy", [](const fs::path& p) { (void)read_npy_int(p.string()); });
}

TEST(HostileCorpus, Npz) {
  EXPECT_GT(replay("npz", [](const fs::path& p) { (void)read_npz_csr(p.string()); }), 0);
}

uint32_t crc32_of(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (const unsigned char c : bytes) {
    crc ^= c;
    for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

// As fuzz_model: the number after the payload's first "version": (1 where
// there is none or it is out of range).
int payload_version(const std::string& payload) {
  const std::string key = "\"version\":";
  const auto at = payload.find(key);
  if (at == std::string::npos) return 1;
  const long v = std::strtol(payload.c_str() + at + key.size(), nullptr, 10);
  return v >= 1 && v <= kFleetModelVersion ? static_cast<int>(v) : 1;
}

// As fuzz_model: an odd first byte means "the rest is a payload; give it a
// valid header" of the version it names.
TEST(HostileCorpus, Model) {
  int newest = 0;
  const int accepted = replay("model", [&newest](const fs::path& p) {
    const std::string file = bytes_of(p);
    if (file.empty()) return;
    std::string bytes = file.substr(1);
    if (static_cast<unsigned char>(file[0]) & 1u) {
      char head[96];
      std::snprintf(head, sizeof head, "stray-fleet-model %d %zu %08x\n",
                    payload_version(bytes), bytes.size(), crc32_of(bytes));
      bytes.insert(0, head);
    }
    std::istringstream in(bytes);
    const FleetModel m = read_fleet_model(in, p.filename().string());
    newest += !m.calibration.empty() && !m.grains.empty() && !m.rarity.empty();
  });
  EXPECT_GT(accepted, 0);
  EXPECT_GT(newest, 0) << "no seed reaches the current version's calibration, grains and rarity";
}

}  // namespace
}  // namespace stray
