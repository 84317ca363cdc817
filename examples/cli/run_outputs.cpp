#include "run_outputs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <random>

#include "stray/core/error.hpp"

namespace stray::cli {
namespace fs = std::filesystem;

// ------------------------------------------------ interrupts: process state
// A signal handler may only touch what is safe to touch asynchronously: the
// temporaries' names live in a fixed table of C strings, filled before each
// file is created, and unlink() and raise() are async-signal-safe.
namespace {

constexpr int kMaxTemps = 64;
std::atomic<char*> g_temps[kMaxTemps];
std::atomic<int> g_temp_count{0};
volatile std::sig_atomic_t g_holding = 0;  // a library writer runs
volatile std::sig_atomic_t g_pending = 0;  // the signal that came meanwhile
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[std::size(kSignals)];

void remove_temps() noexcept {
  const int n = g_temp_count.load();
  for (int i = 0; i < n; ++i) {
    if (char* p = g_temps[i].load()) ::unlink(p);
  }
}

// Removes the temporaries, then lets the signal end the process as it
// would have without us (the exit status tells the shell it was killed).
void die_of(int sig) noexcept {
  remove_temps();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

extern "C" void on_signal(int sig) {
  if (g_holding) {
    g_pending = sig;
    return;
  }
  die_of(sig);
}

void install_handlers() {
  for (std::size_t i = 0; i < std::size(kSignals); ++i) {
    sigaction(kSignals[i], nullptr, &g_previous[i]);
    if (g_previous[i].sa_handler == SIG_IGN) continue;  // nohup: stay ignored
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(kSignals[i], &sa, nullptr);
  }
}

void restore_handlers() noexcept {
  for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

// Registers a name before the file exists, so no moment has a file that an
// interrupt would not remove. Returns the slot.
int register_temp(const std::string& path) {
  const int slot = g_temp_count.load();
  if (slot >= kMaxTemps) throw Error(ErrorCode::invalid_argument, "too many output files");
  g_temps[slot].store(::strdup(path.c_str()));
  g_temp_count.store(slot + 1);
  return slot;
}

void forget_temps() noexcept {
  const int n = g_temp_count.exchange(0);
  for (int i = 0; i < n; ++i) std::free(g_temps[i].exchange(nullptr));
}

// ------------------------------------------------------------- file helpers

std::string random_suffix() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<int> pick(0, static_cast<int>(sizeof(kAlphabet)) - 2);
  std::string s(6, 'x');
  for (char& c : s) c = kAlphabet[pick(rd)];
  return s;
}

// The file a path names, symbolic links followed (a dangling one to the
// path it points at): the rename must replace the file, not the link.
std::string resolve_links(const std::string& path) {
  fs::path p(path);
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) return p.string();
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) throw Error(ErrorCode::io_error, "cannot read the symbolic link '" + path + "'");
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  throw Error(ErrorCode::io_error, "'" + path + "': too many levels of symbolic links");
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

void write_all(int fd, const char* data, std::size_t bytes) {
  while (bytes > 0) {
    const ssize_t n = ::write(fd, data, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorCode::io_error, std::string("write failed: ") + std::strerror(errno));
    data += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

// Copies a staged file into a destination that cannot be renamed over.
void copy_into(const std::string& from, int to_fd) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) throw Error(ErrorCode::io_error, "cannot reopen '" + from + "'");
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    try {
      write_all(to_fd, buf, static_cast<std::size_t>(n));
    } catch (...) {
      ::close(in);
      throw;
    }
  }
  ::close(in);
}

}  // namespace

// ------------------------------------------------------------------ RunOutputs

RunOutputs::RunOutputs(const char* command,
                       std::vector<std::pair<std::string, std::string>> outputs,
                       const std::vector<std::string>& inputs)
    : command_(command) {
  const std::string cmd = command;
  for (auto& [option, path] : outputs) {
    if (path.empty()) continue;
    Output o{option, path, path, "", false};
    if (path == "-") {
      if (uses_stdout_) {
        throw Error(ErrorCode::invalid_argument, cmd + ": only one output can go to standard output (-)");
      }
      uses_stdout_ = o.in_place = true;
      outputs_.push_back(std::move(o));
      continue;
    }
    // stat() follows links as open() will, /dev/stdout's too (a link that
    // names no path); only a regular file is replaced, found by resolve_links.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        throw Error(ErrorCode::io_error, cmd + ": " + option + " '" + path + "' is a directory, not an output file");
      }
      o.in_place = !S_ISREG(st.st_mode);  // /dev/null, a FIFO: written in place
    }
    if (!o.in_place) {
      o.target = resolve_links(path);
      fs::path dir = fs::path(o.target).parent_path();
      if (dir.empty()) dir = ".";
      std::error_code ec;
      if (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0) {
        throw Error(ErrorCode::io_error, cmd + ": cannot write " + option + " '" + path + "': directory '" +
                                             dir.string() + "' does not exist or is not writable");
      }
    }
    for (const std::string& in : inputs) {
      if (!in.empty() && in != "-" && !o.in_place && same_file(in, o.target)) {
        throw Error(ErrorCode::invalid_argument, cmd + ": " + option + " '" + path +
                                                     "' is also an input; write the output to another file");
      }
    }
    for (const Output& earlier : outputs_) {
      // Two files renamed onto one path would lose one; a device may take
      // several (/dev/null discards them all).
      if (!o.in_place && !earlier.in_place && same_file(earlier.target, o.target)) {
        throw Error(ErrorCode::invalid_argument,
                    cmd + ": " + earlier.option + " and " + option + " name the same file '" + path + "'");
      }
    }
    outputs_.push_back(std::move(o));
  }
  forget_temps();
  install_handlers();
}

RunOutputs::~RunOutputs() {
  if (!committed_) discard();
  restore_handlers();
  forget_temps();
}

void RunOutputs::discard() noexcept {
  for (Output& o : outputs_) {
    if (!o.temp.empty()) ::unlink(o.temp.c_str());
    o.temp.clear();
  }
}

void RunOutputs::refuse_stdout_with(bool given, const char* flag) const {
  if (given && uses_stdout_) {
    throw Error(ErrorCode::invalid_argument, std::string(command_) + ": " + flag +
                                                 " and an output on standard output (-) cannot share it");
  }
}

RunOutputs::Output& RunOutputs::find(const std::string& path) {
  for (Output& o : outputs_) {
    if (o.path == path) return o;
  }
  throw Error(ErrorCode::invalid_argument, std::string(command_) + ": '" + path + "' is not an output");
}

const std::string& RunOutputs::stage(const std::string& path) {
  Output& o = find(path);
  if (!o.temp.empty()) return o.temp;
  // In-place destinations stage in the temporary directory: /dev is no
  // place for our files. The rest stage beside their destination, so that
  // the final rename stays within one file system.
  const std::string base = o.in_place ? (fs::temp_directory_path() / "stray-output").string() : o.target;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string temp = base + ".tmp-" + random_suffix();
    const int slot = register_temp(temp);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      o.temp = temp;
      return o.temp;
    }
    const int err = errno;
    std::free(g_temps[slot].exchange(nullptr));  // not ours: never remove it
    if (err != EEXIST) {
      throw Error(ErrorCode::io_error, std::string(command_) + ": cannot create a temporary file for " +
                                           o.option + " '" + path + "': " + std::strerror(err));
    }
  }
  throw Error(ErrorCode::io_error, std::string(command_) + ": no unique temporary name for '" + path + "'");
}

void RunOutputs::write(const std::string& path, const std::function<void(const std::string&)>& writer) {
  const std::string temp = stage(path);
  // A library writer makes temporaries of its own that only it removes:
  // an interrupt waits until it has returned, then removes ours.
  g_holding = 1;
  try {
    writer(temp);
  } catch (...) {
    g_holding = 0;
    if (g_pending) die_of(g_pending);
    throw;
  }
  g_holding = 0;
  if (g_pending) die_of(g_pending);
}

void RunOutputs::commit() {
  // Destinations written in place first: a write there can fail half-way,
  // and then no file has been replaced yet.
  for (const Output& o : outputs_) {
    if (!o.in_place || o.temp.empty()) continue;
    const int fd = o.path == "-" ? STDOUT_FILENO : ::open(o.target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      throw Error(ErrorCode::io_error, std::string(command_) + ": cannot open " + o.option + " '" + o.path +
                                           "': " + std::strerror(errno));
    }
    try {
      copy_into(o.temp, fd);
    } catch (const Error& e) {
      if (fd != STDOUT_FILENO) ::close(fd);
      throw Error(ErrorCode::io_error, std::string(command_) + ": " + o.option + " '" + o.path + "': " + e.what());
    }
    if (fd != STDOUT_FILENO && ::close(fd) != 0) {
      throw Error(ErrorCode::io_error, std::string(command_) + ": " + o.option + " '" + o.path +
                                           "': close failed: " + std::strerror(errno));
    }
  }
  for (Output& o : outputs_) {
    if (o.in_place || o.temp.empty()) continue;
    // The replacement keeps the mode (and, as root, the owner) of the file
    // it replaces; a new file gets 0666 less the umask.
    struct stat st {};
    if (::stat(o.target.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::geteuid() == 0) (void)::chown(o.temp.c_str(), st.st_uid, st.st_gid);
      (void)::chmod(o.temp.c_str(), st.st_mode & 07777);
    }
    if (::rename(o.temp.c_str(), o.target.c_str()) != 0) {
      throw Error(ErrorCode::io_error, std::string(command_) + ": cannot move " + o.option + " into '" +
                                           o.path + "': " + std::strerror(errno));
    }
    o.temp.clear();
  }
  discard();  // the in-place outputs' staged copies
  committed_ = true;
}

}  // namespace stray::cli
