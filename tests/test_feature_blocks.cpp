// FeatureBuilder's block path — the CSV and JSON Lines readers hand its
// sink whole blocks, names interned per block on the parsing threads —
// builds exactly the matrix the per-event path builds: the same entities
// and features in the same order, the same values to the bit, the same
// error at the same event (and the same matrix from what came before it).
// Small blocks on several threads put many blocks into small inputs: runs
// of an entity cross block boundaries, entities come back in later blocks
// and interleave, names hold bytes of every kind.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../fuzz/fuzz_blocks.hpp"
#include "core/name_table.hpp"
#include "io/events/event_blocks.hpp"
#include "stray/core/error.hpp"
#include "stray/features/features.hpp"
#include "stray/io/events.hpp"

namespace stray {
namespace {

enum class Format { csv, jsonl };

std::string describe(const FeatureMatrix& m) { return fuzz::matrix_text(m); }

// A read into a builder, and the builder's matrix afterwards (also after
// an error: it holds the events before it).
struct Outcome {
  std::string matrix;
  std::optional<ErrorCode> code;
  std::string error;
  int64_t events = 0;
};

using MakeBuilder = std::function<FeatureBuilder()>;

ReadStats read_text(Format format, const std::string& text, const EventSink& sink,
                    EventReadOptions options, int threads, std::size_t block_bytes) {
  options.threads = threads;
  std::istringstream in(text);
  return format == Format::csv ? fleet::read_events_csv_blocks(in, sink, options, block_bytes)
                               : fleet::read_events_jsonl_blocks(in, sink, options, block_bytes);
}

Outcome read_into(const MakeBuilder& make, bool blocks, Format format, const std::string& text,
                  const EventReadOptions& options, int threads, std::size_t block_bytes) {
  FeatureBuilder builder = make();
  // A lambda around add() hides the blocks: the per-event path.
  const EventSink sink = blocks ? builder.sink() : EventSink([&](const Event& e) { builder.add(e); });
  EXPECT_EQ(block_sink_target(sink) != nullptr, blocks);
  Outcome o;
  try {
    read_text(format, text, sink, options, threads, block_bytes);
  } catch (const Error& e) {
    o.code = e.code();
    o.error = e.what();
  }
  o.events = builder.n_events();
  o.matrix = describe(builder.build());
  return o;
}

// The per-event path on one thread and one block against the block path
// on every mix of threads and block sizes. Returns the per-event path's.
Outcome expect_blocks_build_the_same(Format format, const std::string& text,
                                     const MakeBuilder& make, const EventReadOptions& options = {}) {
  const Outcome serial = read_into(make, false, format, text, options, 1, text.size() + 1);
  EXPECT_GT(serial.events, 0);
  for (const int threads : {1, 2, 3}) {
    for (const std::size_t block : {1, 5, 37, 300, 4096, 1 << 20}) {
      const Outcome o = read_into(make, true, format, text, options, threads, block);
      EXPECT_EQ(o.error, serial.error) << threads << " threads, blocks of " << block;
      EXPECT_EQ(o.code, serial.code);
      EXPECT_EQ(o.events, serial.events);
      EXPECT_EQ(o.matrix, serial.matrix) << threads << " threads, blocks of " << block
                                         << "\ninput:\n" << text;
      if (o.matrix != serial.matrix) return serial;
    }
  }
  return serial;
}

// The same, for input that reads without error.
void expect_blocks_build_the_same_of_good_input(Format format, const std::string& text,
                                                const MakeBuilder& make) {
  EXPECT_EQ(expect_blocks_build_the_same(format, text, make).error, "");
}

// Names of every kind: short and long (the hash reads 8 bytes a step and
// the last 8 overlapping), alike but for one byte, UTF-8, control
// characters, bytes that are not UTF-8, CSV's and JSON's special ones.
const std::vector<std::string> kOddNames = {
    "a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefgh1", "abcdefgh2",
    "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopr", "aXc",
    "caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x99\x82 smile", "x\x01y", "del\x7F",
    "\xFF\xFE not utf-8", "\xC3", "comma,inside", "quote\"inside", "back\\slash", "tab\tin",
    "line\nbreak", "cr\rhere", "  spaced  ", "lua5.3", "22", std::string(40, 'z'),
    std::string("nul\0byte", 8),
};

struct Record {
  std::string entity, group, feature;
  std::string value;  // as written: "" for none
};

struct EventMix {
  std::vector<std::string> entities, groups, features;
  int max_run = 30;         // events of one entity in a row, at most
  int revisit_percent = 20;  // runs of an entity seen before
};

std::string pick(std::mt19937& rng, const std::vector<std::string>& from) {
  return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
}

// Runs of one entity's events, some of entities seen before (so entities
// come back within a block and in later blocks), groups and features from
// the mix, values that sum to fractions and to nothing.
std::vector<Record> random_records(std::mt19937& rng, const EventMix& mix, int n) {
  static const std::vector<std::string> values = {"", "1", "2.5", "-1", "0.1", "3", "1e-3"};
  std::vector<Record> out;
  std::vector<std::string> seen;
  while (static_cast<int>(out.size()) < n) {
    std::string entity = !seen.empty() && static_cast<int>(rng() % 100) < mix.revisit_percent
                             ? pick(rng, seen)
                             : pick(rng, mix.entities);
    seen.push_back(entity);
    const int run = 1 + static_cast<int>(rng() % static_cast<unsigned>(mix.max_run));
    for (int k = 0; k < run && static_cast<int>(out.size()) < n; ++k) {
      out.push_back({entity, pick(rng, mix.groups), pick(rng, mix.features), pick(rng, values)});
    }
  }
  return out;
}

// Quoted when it must be (and now and then when it need not be).
std::string csv_field(std::mt19937& rng, const std::string& s) {
  const bool special = s.empty() || s.find_first_of(",\"\n\r \t") != std::string::npos;
  if (!special && rng() % 4 != 0) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string json_string(const std::string& s) {
  std::string q = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
      q += esc;
    } else {
      q += c;
    }
  }
  return q + "\"";
}

std::string write_records(std::mt19937& rng, Format format, const std::vector<Record>& records) {
  std::string text = format == Format::csv ? "entity,group,feature,value\n" : "";
  for (const Record& r : records) {
    if (format == Format::csv) {
      text += csv_field(rng, r.entity) + "," + csv_field(rng, r.group) + "," +
              csv_field(rng, r.feature) + "," + r.value + "\n";
    } else {
      text += "{\"entity\":" + json_string(r.entity);
      if (!r.group.empty()) text += ",\"group\":" + json_string(r.group);
      text += ",\"feature\":" + json_string(r.feature);
      if (!r.value.empty()) text += ",\"value\":" + r.value;
      text += "}\n";
    }
  }
  return text;
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

// Groups may hold no ':' (the readers refuse them).
std::vector<std::string> odd_groups() {
  std::vector<std::string> out;
  for (const std::string& s : kOddNames) {
    if (s.find(':') == std::string::npos) out.push_back(s);
  }
  return out;
}

MakeBuilder fitting(FeatureParams params = {}) {
  return [params] { return FeatureBuilder(params); };
}

const Format kFormats[] = {Format::csv, Format::jsonl};

TEST(FeatureBlocks, ManyGroupsAndEntitiesInRuns) {
  std::mt19937 rng(1);
  EventMix mix{numbered("host-", 40), numbered("group.", 25), numbered("feature-", 60)};
  for (const Format format : kFormats) {
    for (int trial = 0; trial < 6; ++trial) {
      SCOPED_TRACE(trial);
      const std::string text = write_records(rng, format, random_records(rng, mix, 300));
      expect_blocks_build_the_same_of_good_input(format, text, fitting());
    }
  }
}

TEST(FeatureBlocks, InterleavedEntities) {
  std::mt19937 rng(2);
  // Runs of one event, half of them of an entity seen before.
  EventMix mix{numbered("h", 12), {"package", "process"}, numbered("f", 30), 1, 50};
  for (const Format format : kFormats) {
    for (int trial = 0; trial < 6; ++trial) {
      SCOPED_TRACE(trial);
      const std::string text = write_records(rng, format, random_records(rng, mix, 250));
      expect_blocks_build_the_same_of_good_input(format, text, fitting());
    }
  }
}

TEST(FeatureBlocks, LongRunsCrossManyBlocks) {
  std::mt19937 rng(3);
  EventMix mix{numbered("entity-", 3), {"package"}, numbered("pkg-", 200), 400, 30};
  for (const Format format : kFormats) {
    const std::string text = write_records(rng, format, random_records(rng, mix, 1500));
    expect_blocks_build_the_same_of_good_input(format, text, fitting());
  }
}

TEST(FeatureBlocks, OddBytesInNames) {
  std::mt19937 rng(4);
  EventMix mix{kOddNames, odd_groups(), kOddNames, 6, 40};
  for (const Format format : kFormats) {
    for (int trial = 0; trial < 6; ++trial) {
      SCOPED_TRACE(trial);
      const std::string text = write_records(rng, format, random_records(rng, mix, 200));
      expect_blocks_build_the_same_of_good_input(format, text, fitting());
    }
  }
}

TEST(FeatureBlocks, EveryNormalisationAndFilter) {
  std::mt19937 rng(5);
  EventMix mix{numbered("h", 30), {"package", "process", "net.port"}, numbered("f", 40)};
  FeatureParams automatic;
  automatic.normalization = Normalization::automatic;
  FeatureParams filtered;
  filtered.idf = true;
  filtered.max_df = 0.5;
  filtered.min_df = 2;
  filtered.group_normalization = {{"process", Normalization::log1p}, {"net.port", Normalization::none}};
  filtered.group_weights = {{"package", 2.0}};
  for (const Format format : kFormats) {
    const std::string text = write_records(rng, format, random_records(rng, mix, 400));
    expect_blocks_build_the_same_of_good_input(format, text, fitting(automatic));
    expect_blocks_build_the_same_of_good_input(format, text, fitting(filtered));
  }
}

// Applying a vocabulary: its columns fixed, new features unseen.
TEST(FeatureBlocks, ApplyingAVocabulary) {
  std::mt19937 rng(6);
  EventMix mix{numbered("h", 20), {"package", "process"}, numbered("f", 30)};
  FeatureParams params;
  params.idf = true;
  params.min_df = 2;
  FeatureBuilder fit(params);
  for (const Record& r : random_records(rng, mix, 300)) {
    fit.add(r.entity, r.group, r.feature);
  }
  const FeatureVocabulary vocabulary = fit.build().vocabulary;
  mix.features = numbered("f", 45);  // 15 the fit never saw
  mix.entities = numbered("other-", 25);
  for (const Format format : kFormats) {
    const std::string text = write_records(rng, format, random_records(rng, mix, 300));
    expect_blocks_build_the_same_of_good_input(format, text,
                                               [&] { return FeatureBuilder(vocabulary); });
  }
}

std::string insert_line(std::mt19937& rng, const std::string& text, const std::string& line) {
  std::size_t at = text.find('\n', text.size() / 3 + rng() % (text.size() / 2));
  if (at == std::string::npos) return text + line;
  return text.substr(0, at + 1) + line + text.substr(at + 1);
}

// A reader's error in the middle of a block: the events before it are
// added, on either path, and the error is the reader's.
TEST(FeatureBlocks, ParseErrorMidBlock) {
  std::mt19937 rng(7);
  EventMix mix{numbered("h", 10), {"package", "process"}, numbered("f", 20)};
  for (int trial = 0; trial < 8; ++trial) {
    SCOPED_TRACE(trial);
    const std::string csv = write_records(rng, Format::csv, random_records(rng, mix, 200));
    EXPECT_EQ(expect_blocks_build_the_same(Format::csv, insert_line(rng, csv, "h1,package,f,abc\n"),
                                           fitting())
                  .code,
              ErrorCode::parse_error);
    const std::string jsonl = write_records(rng, Format::jsonl, random_records(rng, mix, 200));
    EXPECT_EQ(expect_blocks_build_the_same(
                  Format::jsonl, insert_line(rng, jsonl, "{\"entity\":\"h1\",\"feature\":3.5}\n"),
                  fitting())
                  .code,
              ErrorCode::parse_error);
  }
}

// The builder's own error in the middle of a block (an empty group: the
// default group is empty here, and the record names none): thrown at the
// same event with add()'s message, the events before it added.
TEST(FeatureBlocks, BuilderErrorMidBlock) {
  std::mt19937 rng(8);
  EventMix mix{numbered("h", 10), {"package", "process"}, numbered("f", 20)};
  EventReadOptions no_default;
  no_default.default_group = "";
  for (int trial = 0; trial < 8; ++trial) {
    SCOPED_TRACE(trial);
    const std::string csv = insert_line(
        rng, write_records(rng, Format::csv, random_records(rng, mix, 200)), "h1,,f7,2\n");
    EXPECT_EQ(expect_blocks_build_the_same(Format::csv, csv, fitting(), no_default).code,
              ErrorCode::invalid_argument);
    const std::string jsonl =
        insert_line(rng, write_records(rng, Format::jsonl, random_records(rng, mix, 200)),
                    "{\"entity\":\"h1\",\"feature\":\"f7\"}\n");
    EXPECT_EQ(expect_blocks_build_the_same(Format::jsonl, jsonl, fitting(), no_default).code,
              ErrorCode::invalid_argument);
  }
  const Outcome o = read_into(fitting(), true, Format::csv, "entity,group,feature\nh,p,a\nh,,b\n",
                              no_default, 2, 7);
  EXPECT_EQ(o.code, ErrorCode::invalid_argument);
  EXPECT_EQ(o.error, "FeatureBuilder::add: empty group in event (h, , b)");
  EXPECT_EQ(o.events, 1);
}

// What a block sink receives: every event once, in order, each naming its
// entity and (group, feature) among the block's distinct names, numbered
// in order of first appearance.
class CheckingSink final : public EventBlockSink {
 public:
  std::vector<EventRecord> events;
  int blocks = 0;

  void add(const Event& e) override { events.emplace_back(e); }

  void add_block(const EventBlock& b) override {
    ++blocks;
    ASSERT_EQ(b.entity_of.size(), b.events.size());
    ASSERT_EQ(b.feature_of.size(), b.events.size());
    std::size_t next_entity = 0, next_feature = 0;
    for (std::size_t i = 0; i < b.events.size(); ++i) {
      const Event& e = b.events[i];
      ASSERT_LE(b.entity_of[i], next_entity);  // a new one is the next number
      ASSERT_LE(b.feature_of[i], next_feature);
      next_entity += b.entity_of[i] == next_entity;
      next_feature += b.feature_of[i] == next_feature;
      EXPECT_EQ(b.entities[b.entity_of[i]], e.entity);
      EXPECT_EQ(b.features[b.feature_of[i]].group, e.group);
      EXPECT_EQ(b.features[b.feature_of[i]].feature, e.feature);
      events.emplace_back(e);
    }
    EXPECT_EQ(next_entity, b.entities.size());
    EXPECT_EQ(next_feature, b.features.size());
    for (std::size_t a = 0; a < b.features.size(); ++a) {  // distinct
      for (std::size_t c = a + 1; c < b.features.size(); ++c) {
        EXPECT_FALSE(b.features[a].group == b.features[c].group &&
                     b.features[a].feature == b.features[c].feature);
      }
    }
  }
};

TEST(FeatureBlocks, BlockSinksGetInternedBlocks) {
  std::mt19937 rng(9);
  EventMix mix{kOddNames, odd_groups(), kOddNames, 5, 50};
  for (const Format format : kFormats) {
    const std::string text = write_records(rng, format, random_records(rng, mix, 300));
    std::vector<EventRecord> expected;
    read_text(format, text, collect_events(expected), {}, 1, text.size() + 1);
    for (const int threads : {1, 2}) {
      CheckingSink checking;
      read_text(format, text, block_sink(checking), {}, threads, 97);
      EXPECT_EQ(checking.events, expected);
      EXPECT_GT(checking.blocks, 10);
    }
  }
}

TEST(FeatureBlocks, OnlyBlockSinksAreRecognised) {
  CheckingSink checking;
  const EventSink sink = block_sink(checking);
  EXPECT_EQ(block_sink_target(sink), &checking);
  const EventSink copy = sink;  // NOLINT: a copy is the same sink
  EXPECT_EQ(block_sink_target(copy), &checking);
  EXPECT_EQ(block_sink_target(EventSink([&](const Event& e) { sink(e); })), nullptr);
  EXPECT_EQ(block_sink_target(EventSink()), nullptr);
  // Called as an EventSink, it takes one event at a time.
  sink(Event{"h", "g", "f", 2.0});
  ASSERT_EQ(checking.events.size(), 1u);
  EXPECT_EQ(checking.events[0], EventRecord("h", "g", "f", 2.0));
  EXPECT_EQ(checking.blocks, 0);
}

// add_block called directly, on a block made by hand.
TEST(FeatureBlocks, AddBlockByHand) {
  const std::vector<Event> events = {
      {"h1", "package", "a", 1}, {"h1", "process", "x", 3}, {"h2", "package", "a", 1},
      {"h1", "package", "a", 2}, {"h2", "process", "x", 1},
  };
  const std::vector<uint32_t> entity_of = {0, 0, 1, 0, 1};
  const std::vector<uint32_t> feature_of = {0, 1, 0, 0, 1};
  const std::vector<std::string_view> entities = {"h1", "h2"};
  const std::vector<EventBlockFeature> features = {{"package", "a"}, {"process", "x"}};
  FeatureBuilder by_block, by_event;
  by_block.add_block(EventBlock{events, entity_of, feature_of, entities, features});
  for (const Event& e : events) by_event.add(e);
  EXPECT_EQ(by_block.n_events(), 5);
  EXPECT_EQ(describe(by_block.build()), describe(by_event.build()));
}

// The table every name goes through, with every hash alike (one long
// probe): ids still go by the keys, in order of insertion, through growth
// and clearing.
TEST(FeatureBlocks, NameTableKeepsIdsThroughCollisions) {
  internal::NameTable table;
  std::vector<std::string> keys;
  const auto find_or_add = [&](const std::string& key, uint64_t hash) {
    const uint32_t id = table.find_or_add(hash, [&](uint32_t k) { return keys[k] == key; });
    if (id == keys.size()) keys.push_back(key);
    return id;
  };
  for (const uint64_t hash : {uint64_t{42} << 32, uint64_t{0}, ~uint64_t{0}}) {
    for (int round = 0; round < 2; ++round) {
      keys.clear();
      table.clear();
      for (uint32_t i = 0; i < 300; ++i) ASSERT_EQ(find_or_add(std::to_string(i), hash), i);
      for (uint32_t i = 0; i < 300; ++i) ASSERT_EQ(find_or_add(std::to_string(i), hash), i);
      EXPECT_EQ(table.size(), 300u);
    }
  }
  // A block of one name after one of 300: the room shrinks, ids restart.
  for (int block = 0; block < 3; ++block) {
    keys.clear();
    table.clear();
    EXPECT_EQ(find_or_add("again", 7), 0u);
    EXPECT_EQ(find_or_add("more", 7), 1u);
    EXPECT_EQ(find_or_add("again", 7), 0u);
  }
}

TEST(FeatureBlocks, NameTableAtItsLimitFindsButDoesNotAdd) {
  internal::NameTable table;
  std::vector<std::string> keys;
  const auto find_or_add = [&](const std::string& key) {
    const uint32_t id = table.find_or_add(
        internal::hash_name(key, 3), [&](uint32_t k) { return keys[k] == key; }, 3);
    if (id == keys.size()) keys.push_back(key);
    return id;
  };
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(find_or_add(std::to_string(i)), i);
  EXPECT_EQ(find_or_add("new"), internal::NameTable::kFull);
  EXPECT_EQ(find_or_add("1"), 1u);
  EXPECT_EQ(table.size(), 3u);
}

TEST(FeatureBlocks, NameHashTellsNamesApart) {
  // Names of each length the hash reads differently, one byte changed.
  for (std::size_t n = 1; n <= 24; ++n) {
    const std::string base(n, 'a');
    for (std::size_t at = 0; at < n; ++at) {
      std::string other = base;
      other[at] = 'b';
      EXPECT_NE(internal::hash_name(base, 1), internal::hash_name(other, 1)) << n << " " << at;
    }
  }
  EXPECT_NE(internal::hash_name("", 1), internal::hash_name(std::string(1, '\0'), 1));
  EXPECT_NE(internal::hash_name("abc", 1), internal::hash_name("abc", 2));
}

}  // namespace
}  // namespace stray
