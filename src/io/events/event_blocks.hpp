// Reading events in blocks on several threads.
//
// The input is read in large blocks, each cut at a record boundary (the
// unfinished record at a block's end starts the next block). Any free
// thread parses a block into events; the events reach the sink on the
// calling thread, block after block, in the order of the input. So the
// sink sees what one thread reading line by line would hand it, whatever
// the number of threads, and the first error in the input is the one
// thrown: a block's parse stops at its first error, which the reading
// thread throws only after delivering every event before it.
//
// Handing out lines instead of blocks would cost a synchronisation per
// line, more than parsing one. Line numbers are counted per block (a block
// does not know how many lines came before it); an error names its line in
// the input once the blocks before it have been delivered.
//
// A block sink (block_sink_target) gets each block whole, with its names
// interned (BlockNames) by the thread that parsed it, right after parsing:
// that work touches nothing shared, and it leaves the sink, which runs on
// the calling thread that also reads the input, a lookup per distinct name
// of the block rather than one per event.
//
// Memory: at most threads + 2 blocks are held (one for a single thread),
// each block_bytes plus the unfinished record carried into it, with its
// parsed events (views into the block, 56 bytes an event: 14 times the
// block for CSV's shortest records, "a,b\n", under twice for real ones)
// and, for a block sink, their interned names: 8 bytes an event and about
// 50 to 70 for each distinct entity, group and feature of the block (a
// fifth more than the events for real records; where every name differs,
// up to three times their bytes again).
// A record longer than the line limit allows is known to be an error
// before 4 × max_line_bytes of it are held (see read_block), so an input
// without line breaks cannot take more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <istream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "io/events/block_names.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"

namespace stray::fleet {

/// Bytes read for a block (plus the unfinished record carried over): a
/// block and its events stay in a core's cache while they are parsed, and
/// blocks are few enough that handing them out costs nothing measurable.
inline constexpr std::size_t kBlockBytes = std::size_t{256} << 10;

/// A parse error at a line of a block (1-based within the block). A
/// message naming a second line of the block reads message, that line's
/// number in the input, then tail.
struct BlockError {
  ErrorCode code = ErrorCode::parse_error;
  int64_t line = 0;
  std::string message;
  int64_t second_line = 0;  // 0: none
  std::string tail;
};

/// Throws the BlockError "parts..." at `line` of the block.
template <typename... Parts>
[[noreturn]] void fail_in_block(ErrorCode code, int64_t line, const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw BlockError{code, line, os.str(), 0, {}};
}

/// Whole records of the input: `text` starts at a record's start and ends
/// after a record's line break, unless the block is the input's last.
struct Block {
  std::string_view text;
  bool first = false;       // starts the input: its line 1 is the input's (a BOM is skipped)
  bool last = false;        // ends the input: its last line may lack a line break
  bool has_quotes = false;  // CSV: a '"' somewhere in `text` (else no field is quoted)
};

/// What parsing a block gives the sink.
struct ParsedBlock {
  std::vector<Event> events;       // views of the block's text, of `owned` or of the options
  std::deque<std::string> owned;   // unescaped fields, records joined over lines
  BlockNames names;                // for a block sink: the names of `events` interned
  int64_t lines = 0;               // physical lines parsed
  int64_t records = 0;             // ReadStats::records of the block
  int64_t skipped = 0;             // ReadStats::skipped, without_entity and unmatched
  int64_t without_entity = 0;
  int64_t unmatched = 0;
  std::optional<BlockError> error;  // the first error; `events` are those before it
  std::exception_ptr failure;       // anything else thrown (memory)

  void clear();
};

/// How far a block's text has been searched for record boundaries; the
/// text only grows between calls, so each byte is looked at once.
struct RecordScan {
  std::size_t scanned = 0;  // bytes searched
  std::size_t end = 0;      // just past the last record boundary found (0: none)
  bool quoted = false;      // CSV: inside a quoted field at `scanned`
  bool has_quotes = false;  // CSV: a '"' in the bytes searched
};

/// find_record_ends of the formats whose every line break ends a record
/// (JSON Lines, JSON logs).
inline void find_line_ends(std::string_view text, RecordScan& scan) {
  const std::size_t nl = text.substr(scan.scanned).rfind('\n');
  if (nl != std::string_view::npos) scan.end = scan.scanned + nl + 1;
  scan.scanned = text.size();
}

/// A format the block reader parses.
class BlockFormat {
 public:
  virtual ~BlockFormat() = default;
  /// Advances `scan` over text[scan.scanned, text.size()); `text` starts at
  /// a record start.
  virtual void find_record_ends(std::string_view text, RecordScan& scan) const = 0;
  /// Whether blocks may be parsed concurrently yet. Until then each block
  /// is parsed on the reading thread before the next is read (the CSV
  /// header decides how every later record is read).
  virtual bool concurrent() const = 0;
  /// Appends the block's events to `out`; throws BlockError at the first
  /// malformed record (the events before it stay in `out`). Once
  /// concurrent(), called from several threads at once.
  virtual void parse(const Block& block, ParsedBlock& out) = 0;
};

/// What the block reader needs besides the format.
struct BlockReadSettings {
  const char* where = "";        // the reader, in messages
  std::size_t max_line_bytes = 0;  // the format's line limit
  std::size_t block_bytes = kBlockBytes;
};

/// More threads than this parse no faster: the calling thread, which
/// reads the input and calls the sink, is the limit long before.
inline constexpr int kMaxReaderThreads = 256;

/// The threads a reader uses: EventReadOptions::threads, or OpenMP's
/// default (OMP_NUM_THREADS, else the cores) for 0, at most
/// kMaxReaderThreads. invalid_argument for a negative count.
int reader_threads(const EventReadOptions& options, const char* where);

/// Reads `in` (decoded already) to its end in blocks, parsing them on
/// reader_threads(options) threads, and hands the events to `sink` on this
/// thread, in order. Errors as the line-by-line readers word them.
ReadStats read_in_blocks(std::istream& in, BlockFormat& format, const EventSink& sink,
                         const EventReadOptions& options, const BlockReadSettings& settings);

/// The CSV and JSON Lines readers with a chosen block size, so that tests
/// can put block boundaries anywhere in a small input.
ReadStats read_events_csv_blocks(std::istream& in, const EventSink& sink,
                                 const EventReadOptions& options, std::size_t block_bytes);
ReadStats read_events_jsonl_blocks(std::istream& in, const EventSink& sink,
                                   const EventReadOptions& options, std::size_t block_bytes);
ReadStats read_events_json_log_blocks(std::istream& in, const EventSink& sink,
                                      const EventReadOptions& options, std::size_t block_bytes);

}  // namespace stray::fleet
