// The block reader: blocks read at record boundaries on the calling
// thread, parsed by helper threads and by the calling thread while it
// would wait, and delivered in order.
#include "io/events/event_blocks.hpp"

#include <omp.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/check.hpp"
#include "io/events/event_io.hpp"

namespace stray::fleet {

void ParsedBlock::clear() {
  events.clear();
  owned.clear();
  names.clear();
  lines = records = skipped = without_entity = unmatched = 0;
  error.reset();
  failure = nullptr;
}

int reader_threads(const EventReadOptions& options, const char* where) {
  internal::require(options.threads >= 0, ErrorCode::invalid_argument, where,
                    "threads=", options.threads, " is negative (0: OpenMP's default)");
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  return std::clamp(threads, 1, kMaxReaderThreads);
}

namespace {

// Bytes a block may hold without a record boundary before its first record
// is certainly an error. A record of at most `max` bytes spans at most
// 3 × max + 5 bytes of the input (each line may lose a '\r' to CRLF
// cleaning, line 1 a BOM), and the line after it at most `max` more before
// it is too long itself; so a block this long without a boundary fails to
// parse before its end, and nothing past it need be read.
std::size_t unbounded_record_bytes(std::size_t max) {
  constexpr std::size_t kHuge = std::numeric_limits<std::size_t>::max();
  return max > (kHuge - 64) / 4 ? kHuge : 4 * max + 64;
}

// A growable buffer that is not zeroed: reads overwrite it.
class Bytes {
 public:
  char* data() { return data_.get(); }
  // Room for `n` bytes, keeping the first `keep`.
  void reserve(std::size_t n, std::size_t keep) {
    if (n <= capacity_) return;
    const std::size_t capacity = std::max(n, capacity_ + capacity_ / 2);
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (keep > 0) std::memcpy(grown.get(), data_.get(), keep);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
};

enum class SlotState { free, queued, parsing, parsed };

struct Slot {
  Bytes bytes;
  Block block;
  ParsedBlock parsed;
  SlotState state = SlotState::free;
};

class BlockReader {
 public:
  BlockReader(std::istream& in, BlockFormat& format, const EventSink& sink,
              const EventReadOptions& options, const BlockReadSettings& settings)
      : in_(in),
        format_(format),
        sink_(sink),
        block_sink_(block_sink_target(sink)),
        options_(options),
        settings_(settings),
        threads_(reader_threads(options, settings.where)),
        record_limit_(unbounded_record_bytes(settings.max_line_bytes)) {
    // A block for each thread to parse, one being delivered, one read ahead.
    const int n_slots = threads_ == 1 ? 1 : threads_ + 2;
    for (int i = 0; i < n_slots; ++i) slots_.push_back(std::make_unique<Slot>());
  }

  ~BlockReader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    work_.notify_all();
    for (std::thread& t : helpers_) t.join();
  }

  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  ReadStats run();

 private:
  Slot& slot(int64_t index) { return *slots_[static_cast<std::size_t>(index) % slots_.size()]; }
  void read_ahead();
  bool read_block(Slot& s);
  void enqueue(Slot& s);
  void parse(Slot& s);
  void wait_for(Slot& s);
  void parse_next(std::unique_lock<std::mutex>& lock);
  void deliver(const Slot& s);
  void helper_loop();

  std::istream& in_;
  BlockFormat& format_;
  const EventSink& sink_;
  EventBlockSink* const block_sink_;  // the sink's, when it takes blocks
  const EventReadOptions& options_;
  const BlockReadSettings& settings_;
  const int threads_;
  const std::size_t record_limit_;

  std::vector<std::unique_ptr<Slot>> slots_;
  int64_t next_read_ = 0;     // blocks read
  int64_t next_deliver_ = 0;  // blocks delivered
  std::vector<char> carry_;   // the unfinished record after the last block read
  bool input_done_ = false;
  std::exception_ptr read_error_;
  int64_t line_base_ = 0;  // lines of the blocks delivered
  ReadStats stats_;

  std::mutex mutex_;
  std::condition_variable work_;    // a block queued, or stop_
  std::condition_variable parsed_;  // a block parsed
  std::deque<Slot*> queue_;         // blocks to parse, in input order
  bool stop_ = false;
  std::vector<std::thread> helpers_;
};

ReadStats BlockReader::run() {
  while (true) {
    read_ahead();
    if (next_deliver_ == next_read_) break;
    Slot& s = slot(next_deliver_);
    wait_for(s);
    deliver(s);
    s.state = SlotState::free;
    ++next_deliver_;
  }
  // A read that failed ends the input after the blocks read before it.
  if (read_error_) std::rethrow_exception(read_error_);
  if (in_.bad()) {
    internal::fail(ErrorCode::io_error, settings_.where, "read failed after line ", line_base_);
  }
  stats_.lines = line_base_;
  return stats_;
}

// Reads blocks into every free slot. Before the format allows concurrent
// parsing each block is parsed here, before the next is read.
void BlockReader::read_ahead() {
  while (!input_done_ && next_read_ - next_deliver_ < static_cast<int64_t>(slots_.size())) {
    Slot& s = slot(next_read_);
    if (!read_block(s)) return;
    ++next_read_;
    if (format_.concurrent()) {
      enqueue(s);
    } else {
      parse(s);
      s.state = SlotState::parsed;
      // Its error ends the reading: nothing after it is read or parsed.
      if (s.parsed.error || s.parsed.failure) input_done_ = true;
    }
  }
}

// The carried-over record, then input until a record boundary, the end of
// the input, or a record certainly too long (record_limit_). False when a
// read threw: the input ends there, the error after the blocks before.
bool BlockReader::read_block(Slot& s) {
  std::size_t size = carry_.size();
  s.bytes.reserve(size + settings_.block_bytes, 0);
  if (size > 0) std::memcpy(s.bytes.data(), carry_.data(), size);
  carry_.clear();
  RecordScan scan;
  bool eof = false;
  try {
    while (true) {
      // A long record doubles the block rather than growing it by steps.
      const std::size_t want = std::max(settings_.block_bytes, size);
      s.bytes.reserve(size + want, size);
      in_.read(s.bytes.data() + size, static_cast<std::streamsize>(want));
      const auto got = static_cast<std::size_t>(in_.gcount());
      size += got;
      eof = got < want;
      format_.find_record_ends(std::string_view(s.bytes.data(), size), scan);
      if (eof || scan.end > 0 || size > record_limit_) break;
    }
  } catch (...) {
    read_error_ = std::current_exception();
    input_done_ = true;
    return false;
  }
  std::size_t end = size;
  if (!eof && scan.end > 0) {
    end = scan.end;
    carry_.assign(s.bytes.data() + end, s.bytes.data() + size);
  } else {
    input_done_ = true;  // the end, or a record that fails before the block's end
  }
  s.block = Block{std::string_view(s.bytes.data(), end), next_read_ == 0, eof, scan.has_quotes};
  return true;
}

void BlockReader::enqueue(Slot& s) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    s.state = SlotState::queued;
    queue_.push_back(&s);
  }
  work_.notify_one();
  // Helpers start with the first block that is not the whole input. A
  // system out of threads gets fewer: the calling thread parses too, and
  // nothing read depends on how many there are.
  if (helpers_.empty() && threads_ > 1 && !s.block.last) {
    try {
      for (int i = 1; i < threads_; ++i) helpers_.emplace_back([this] { helper_loop(); });
    } catch (const std::system_error&) {
    }
  }
}

// Never throws: what parsing throws is kept for delivery, in order. For
// a block sink, the names of the events parsed (those before an error
// too) are interned here, on the parsing thread.
void BlockReader::parse(Slot& s) {
  s.parsed.clear();
  try {
    try {
      format_.parse(s.block, s.parsed);
    } catch (BlockError& e) {
      s.parsed.error = std::move(e);
    }
    if (block_sink_ != nullptr) s.parsed.names.intern(s.parsed.events);
  } catch (...) {
    s.parsed.failure = std::current_exception();
  }
}

// Parses queued blocks on this thread while `s` is not parsed yet.
void BlockReader::wait_for(Slot& s) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (s.state != SlotState::parsed) {
    if (queue_.empty()) {
      parsed_.wait(lock);
      continue;
    }
    parse_next(lock);
  }
}

// Takes the first queued block and parses it, `lock` released meanwhile.
void BlockReader::parse_next(std::unique_lock<std::mutex>& lock) {
  Slot* next = queue_.front();
  queue_.pop_front();
  next->state = SlotState::parsing;
  lock.unlock();
  parse(*next);
  lock.lock();
  next->state = SlotState::parsed;
}

void BlockReader::helper_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    parse_next(lock);
    parsed_.notify_one();
  }
}

void BlockReader::deliver(const Slot& s) {
  const ParsedBlock& p = s.parsed;
  if (block_sink_ != nullptr && p.names.covers(p.events)) {
    if (!p.events.empty()) block_sink_->add_block(p.names.block(p.events));
  } else {
    for (const Event& e : p.events) sink_(e);
  }
  if (p.error) {
    const BlockError& e = *p.error;
    if (e.second_line > 0) {
      fail_at_line(e.code, settings_.where, options_, line_base_ + e.line, e.message,
                   line_base_ + e.second_line, e.tail);
    }
    fail_at_line(e.code, settings_.where, options_, line_base_ + e.line, e.message);
  }
  if (p.failure) std::rethrow_exception(p.failure);
  stats_.records += p.records;
  stats_.skipped += p.skipped;
  stats_.without_entity += p.without_entity;
  stats_.unmatched += p.unmatched;
  stats_.events += static_cast<int64_t>(p.events.size());
  line_base_ += p.lines;
}

}  // namespace

ReadStats read_in_blocks(std::istream& in, BlockFormat& format, const EventSink& sink,
                         const EventReadOptions& options, const BlockReadSettings& settings) {
  BlockReader reader(in, format, sink, options, settings);
  return reader.run();
}

}  // namespace stray::fleet
