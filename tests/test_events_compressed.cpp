// Compressed and streamed event input: gzip and zstd decoded by every
// reader (streams and paths), told by the first bytes rather than the name;
// standard input for "-"; formats told from the first line; and hostile
// input — truncated and corrupt streams, trailing bytes, a window past
// zstd's limit, a decompression bomb against the line limit — refused with
// a stray::Error naming the source. The inputs are made here with zlib and
// libzstd themselves.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "stray/core/error.hpp"
#include "stray/io/events.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;

// gzip (one member) of `text`, by zlib's deflate with a gzip wrapper.
std::string gzip(const std::string& text, int level = 6) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, text.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

// zstd (one frame) of `text`; `window_log` > 0 sets the window the frame
// declares (its size then left out of the header, as a stream writes it).
std::string zstd(const std::string& text, int window_log = 0) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
  if (window_log > 0) ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, window_log);
  std::string out(ZSTD_compressBound(text.size()) + 64, '\0');
  ZSTD_inBuffer in{text.data(), text.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  if (window_log > 0) {
    // Streamed, so the frame starts before its size is known and keeps the
    // window asked for (zstd shrinks it to a size it knows).
    ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue);
  }
  const std::size_t rc = ZSTD_compressStream2(c, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(c);
  if (ZSTD_isError(rc) || rc != 0) throw std::runtime_error("zstd");
  out.resize(o.pos);
  return out;
}

const std::string kCsv =
    "entity,group,feature,value\n"
    "web-1,package,nginx,1\n"
    "web-1,process,nginx,4.5\n"
    "db-1,net.port,5432,\n";
const std::vector<EventRecord> kCsvEvents = {{"web-1", "package", "nginx", 1.0},
                                             {"web-1", "process", "nginx", 4.5},
                                             {"db-1", "net.port", "5432", 1.0}};
const std::string kJsonl =
    "{\"entity\":\"web-1\",\"group\":\"package\",\"feature\":\"nginx\"}\n"
    "{\"entity\":\"db-1\",\"feature\":\"postgres\",\"value\":2}\n";
const std::string kOsquery =
    "{\"snapshot\":[{\"name\":\"libc6\"},{\"name\":\"lua5.3\"}],\"action\":\"snapshot\","
    "\"name\":\"pack/base/deb_packages\",\"hostIdentifier\":\"web-2\",\"unixTime\":1,"
    "\"numerics\":false}\n";

std::vector<EventRecord> read_stream(const std::string& bytes, EventFormat format,
                                     const std::string& name = "") {
  std::istringstream in(bytes);
  std::vector<EventRecord> out;
  EventReadOptions options;
  options.source_name = name;
  read_events(in, format, collect_events(out), options);
  return out;
}

std::vector<EventRecord> read_path(const std::string& path, EventFormat format) {
  std::vector<EventRecord> out;
  read_events(path, format, collect_events(out));
  return out;
}

TEST(EventsCompressed, EveryReaderDecodesGzipAndZstdStreams) {
  for (const auto& [text, format] : {std::pair{kCsv, EventFormat::csv},
                                     std::pair{kJsonl, EventFormat::jsonl},
                                     std::pair{kOsquery, EventFormat::osquery}}) {
    SCOPED_TRACE(to_string(format));
    const auto plain = read_stream(text, format);
    ASSERT_FALSE(plain.empty());
    EXPECT_EQ(read_stream(gzip(text), format), plain);
    EXPECT_EQ(read_stream(zstd(text), format), plain);
  }
  EXPECT_EQ(read_stream(gzip(kCsv), EventFormat::csv), kCsvEvents);
}

TEST(EventsCompressed, ManyMembersAndFramesAndLongInputs) {
  // gzip members and zstd frames one after another read as one text, as
  // gzip -d and zstd -d read them; a record may span the boundary.
  const std::string a = kCsv.substr(0, 40), b = kCsv.substr(40);
  EXPECT_EQ(read_stream(gzip(a) + gzip(b), EventFormat::csv), kCsvEvents);
  EXPECT_EQ(read_stream(zstd(a) + zstd(b), EventFormat::csv), kCsvEvents);
  // Past the decoder's 64 KiB buffers: 200,000 events.
  std::string big = "entity,feature\n";
  for (int i = 0; i < 200000; ++i) big += "host-" + std::to_string(i % 997) + ",f" + std::to_string(i) + "\n";
  for (const std::string& bytes : {gzip(big, 1), zstd(big)}) {
    std::istringstream in(bytes);
    int64_t count = 0;
    const ReadStats s = read_events_csv(in, [&](const Event&) { ++count; });
    EXPECT_EQ(count, 200000);
    EXPECT_EQ(s.lines, 200001);
  }
}

TEST(EventsCompressed, ToldByTheBytesNotTheName) {
  TempDir dir;
  const std::string gz_named_csv = dir.file("events.csv");  // gzip inside
  const std::string plain_named_gz = dir.file("plain.csv.gz");  // text inside
  const std::string zst = dir.file("events.jsonl.zst");
  write_bytes(gz_named_csv, gzip(kCsv));
  write_bytes(plain_named_gz, kCsv);
  write_bytes(zst, zstd(kJsonl));
  EXPECT_EQ(read_path(gz_named_csv, EventFormat::csv), kCsvEvents);
  EXPECT_EQ(read_path(plain_named_gz, EventFormat::csv), kCsvEvents);
  EXPECT_EQ(read_path(zst, EventFormat::jsonl), read_stream(kJsonl, EventFormat::jsonl));
  std::vector<EventRecord> out;
  read_events_csv(std::filesystem::path(gz_named_csv), collect_events(out));
  EXPECT_EQ(out, kCsvEvents);

  EventInput gz(gz_named_csv);
  EXPECT_STREQ(gz.compression(), "gzip");
  EventInput plain(plain_named_gz);
  EXPECT_STREQ(plain.compression(), "");
  EventInput z(zst);
  EXPECT_STREQ(z.compression(), "zstd");
  EXPECT_EQ(z.guess_format(), EventFormat::jsonl);
  EXPECT_EQ(z.size(), std::filesystem::file_size(zst));
  std::string all((std::istreambuf_iterator<char>(z.stream())), {});
  EXPECT_EQ(all, kJsonl);
  EXPECT_EQ(z.bytes_read(), z.size());
}

TEST(EventsCompressed, FormatFromNameUnderACompressionSuffix) {
  EXPECT_EQ(event_format_from_path("a/b.csv.gz"), EventFormat::csv);
  EXPECT_EQ(event_format_from_path("b.JSONL.ZST"), EventFormat::jsonl);
  EXPECT_EQ(event_format_from_path("b.ndjson.zstd"), EventFormat::jsonl);
  EXPECT_EQ(event_format_from_path("osquery.log.gz"), EventFormat::osquery);
  expect_error([] { event_format_from_path("events.gz"); }, ErrorCode::invalid_argument,
               {"events.gz", ".gz or .zst"});
  expect_error([] { event_format_from_path("-"); }, ErrorCode::invalid_argument,
               {"standard input"});
}

TEST(EventsCompressed, FormatFromTheFirstLine) {
  EXPECT_EQ(sniff_event_format(kCsv), EventFormat::csv);
  EXPECT_EQ(sniff_event_format("\xEF\xBB\xBF\n  \n\"Feature\", time ,ENTITY\r\nx,1,y\n"),
            EventFormat::csv);
  EXPECT_EQ(sniff_event_format(kJsonl), EventFormat::jsonl);
  EXPECT_EQ(sniff_event_format(kOsquery), EventFormat::osquery);
  EXPECT_EQ(sniff_event_format("{\"name\":\"x\",\"hostIdentifier\":\"h\",\"columns\":{}}"),
            EventFormat::osquery);
  EXPECT_EQ(sniff_event_format("host,package\nweb-1,nginx\n"), std::nullopt);
  EXPECT_EQ(sniff_event_format("{\"a\":1}\n"), std::nullopt);
  EXPECT_EQ(sniff_event_format(""), std::nullopt);
  EXPECT_EQ(sniff_event_format(std::string("\x1f\x8b\x08\x00", 4)), std::nullopt);

  // An input whose name does not tell is told by its decoded first line,
  // and reading it afterwards still starts at the beginning.
  TempDir dir;
  const std::string path = dir.file("events.gz");
  write_bytes(path, gzip(kCsv));
  EventInput in(path);
  EXPECT_EQ(in.guess_format(), EventFormat::csv);
  std::vector<EventRecord> out;
  read_events(in.stream(), EventFormat::csv, collect_events(out));
  EXPECT_EQ(out, kCsvEvents);
}

// Standard input for "-", plain and compressed.
TEST(EventsCompressed, StandardInput) {
  for (const std::string& bytes : {kCsv, gzip(kCsv), zstd(kCsv)}) {
    std::istringstream fake(bytes);
    std::streambuf* saved = std::cin.rdbuf(fake.rdbuf());
    std::vector<EventRecord> out;
    try {
      EventInput in("-");
      EXPECT_EQ(in.name(), "standard input");
      EXPECT_EQ(in.guess_format(), EventFormat::csv);
      read_events(in.stream(), EventFormat::csv, collect_events(out));
    } catch (...) {
      std::cin.rdbuf(saved);
      throw;
    }
    std::cin.rdbuf(saved);
    EXPECT_EQ(out, kCsvEvents);
  }
  std::istringstream fake(gzip(kCsv));
  std::streambuf* saved = std::cin.rdbuf(fake.rdbuf());
  std::vector<EventRecord> out;
  read_events_csv(std::filesystem::path("-"), collect_events(out));
  std::cin.rdbuf(saved);
  EXPECT_EQ(out, kCsvEvents);
}

TEST(EventsCompressed, TruncatedAndCorruptStreamsNameTheFile) {
  TempDir dir;
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "web-" + std::to_string(i) + ",pkg-" + std::to_string(i * 7) + "\n";
  big = "entity,feature\n" + big;
  const std::string gz = gzip(big), zs = zstd(big);
  struct Case {
    const char* name;
    std::string bytes;
    std::vector<std::string> says;
  };
  std::string gz_flipped = gz, zs_flipped = zs;
  for (std::size_t i = 20; i < 60; ++i) gz_flipped[i] = static_cast<char>(gz_flipped[i] ^ 0x5a);
  for (std::size_t i = 20; i < 60; ++i) zs_flipped[i] = static_cast<char>(zs_flipped[i] ^ 0x5a);
  const Case cases[] = {
      {"cut.csv.gz", gz.substr(0, gz.size() / 2), {"gzip", "truncated"}},
      {"cut-trailer.csv.gz", gz.substr(0, gz.size() - 3), {"gzip", "truncated"}},
      {"header-only.csv.gz", gz.substr(0, 6), {"gzip", "truncated"}},
      {"cut.csv.zst", zs.substr(0, zs.size() / 2), {"zstd", "truncated"}},
      {"header-only.csv.zst", zs.substr(0, 5), {"zstd", "truncated"}},
      {"flipped.csv.gz", gz_flipped, {"corrupt gzip"}},
      {"flipped.csv.zst", zs_flipped, {"corrupt zstd"}},
      {"trailing.csv.gz", gz + "garbage\n", {"after the end of the gzip stream"}},
      {"trailing.csv.zst", zs + "garbage\n", {"corrupt zstd"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(c.name);
    write_bytes(path, c.bytes);
    std::vector<std::string> says = c.says;
    says.push_back(path);
    says.push_back("read_events_csv");
    expect_error([&] { read_path(path, EventFormat::csv); }, ErrorCode::parse_error, says);
    // The stream reader names the source it is given.
    expect_error([&] { read_stream(c.bytes, EventFormat::csv, "from-a-stream"); },
                 ErrorCode::parse_error, {"from-a-stream"});
  }
}

// A window past zstd's default limit (2^27) is refused before anything is
// allocated for it.
TEST(EventsCompressed, ZstdWindowPastTheLimitIsRefused) {
  const std::string frame = zstd(kCsv, 30);
  // The frame header (RFC 8878, 3.1.1.1): after the 4-byte magic, the
  // descriptor byte (no single-segment flag, 0x20, so a window descriptor
  // follows), then the window's exponent in its top 5 bits: 2^(10 + e).
  ASSERT_GE(frame.size(), 6u);
  ASSERT_EQ(static_cast<unsigned char>(frame[4]) & 0x20, 0);
  ASSERT_EQ(10 + (static_cast<unsigned char>(frame[5]) >> 3), 30);
  expect_error([&] { read_stream(frame, EventFormat::csv, "wide.zst"); }, ErrorCode::parse_error,
               {"wide.zst", "window over 128 MiB"});
}

// A bomb: 64 MiB of one line decoded from a few KiB. The reader
// stops at the line limit, having held about that much.
TEST(EventsCompressed, DecompressionBombStopsAtTheLineLimit) {
  const std::string line(std::size_t{64} << 20, 'a');
  const std::string bytes = zstd(line);
  ASSERT_LT(bytes.size(), std::size_t{1} << 20);
  const std::string gz = gzip(std::string(std::size_t{16} << 20, 'a'), 9);
  for (const std::string* b : {&bytes, &gz}) {
    EventReadOptions options;
    options.max_line_bytes = std::size_t{1} << 20;
    options.source_name = "bomb";
    std::istringstream in(*b);
    expect_error([&] { read_events_csv(in, [](const Event&) {}, options); },
                 ErrorCode::parse_error, {"bomb line 1", "longer than 1048576 bytes"});
  }
}

// The real sets, when present, read straight from their .csv.gz.
TEST(EventsCompressed, RealDataReadsDirectly) {
  const std::filesystem::path root = std::filesystem::path(STRAY_FIXTURES_DIR) / ".." / ".." /
                                     ".." / "shared" / "realdata";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no real data at " << root.string();
  int files = 0;
  for (const auto& dir : std::filesystem::directory_iterator(root)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
      const std::string name = f.path().filename().string();
      if (name.size() < 7 || name.substr(name.size() - 7) != ".csv.gz") continue;
      SCOPED_TRACE(f.path().string());
      ++files;
      // Lines counted through zlib's own gz reader, against the events read.
      gzFile g = gzopen(f.path().c_str(), "rb");
      ASSERT_NE(g, nullptr);
      int64_t lines = 0;
      char buf[1 << 16];
      int got;
      while ((got = gzread(g, buf, sizeof buf)) > 0)
        for (int i = 0; i < got; ++i) lines += buf[i] == '\n';
      gzclose(g);
      int64_t events = 0;
      const ReadStats s = read_events(f.path(), event_format_from_path(f.path()),
                                      [&](const Event&) { ++events; });
      EXPECT_EQ(s.lines, lines);
      EXPECT_EQ(events, lines - 1);  // one header line
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace stray
