// A command's output files, written as one unit: every output goes to a
// temporary file first, and only when all of them are complete are they
// moved into place. A failure (or an interrupt) before that leaves every
// destination as it was and no temporary behind.
//
//   RunOutputs out("kmeans", {{"--labels", o.labels_out}}, {o.input});
//   ... the work ...
//   out.write(o.labels_out, [&](const std::string& p) { write_npy(p, labels); });
//   out.commit();
//
// Destinations: a regular file is replaced by rename and keeps its mode (and,
// as root, its owner); a symbolic link is followed, the file it names is
// replaced; a device or a pipe (/dev/null, a FIFO) is written in place, never
// replaced; "-" is standard output. An output that is also an input, or
// named twice, is refused before any work.
//
// Interrupts (SIGINT, SIGTERM, SIGHUP) between construction and commit remove
// the temporaries and then end the process as the signal would; while a
// library writer runs inside write() the signal waits until it returns.
// One RunOutputs per process at a time.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace stray::cli {

class RunOutputs {
 public:
  /// `outputs`: (option name, path) pairs; empty paths are unused options.
  /// `inputs`: files the command reads ("-" and empty entries ignored).
  /// Throws stray::Error (io_error, invalid_argument) naming the option.
  RunOutputs(const char* command, std::vector<std::pair<std::string, std::string>> outputs,
             const std::vector<std::string>& inputs);
  ~RunOutputs();
  RunOutputs(const RunOutputs&) = delete;
  RunOutputs& operator=(const RunOutputs&) = delete;

  /// True when one output is "-": the command then prints nothing else.
  bool uses_stdout() const { return uses_stdout_; }
  /// Refuses "-" when `flag` (e.g. --json) was given: both want stdout.
  void refuse_stdout_with(bool given, const char* flag) const;

  /// A temporary file for `path` (one of the outputs), created empty; the
  /// caller writes it whole (it may replace it by rename).
  const std::string& stage(const std::string& path);

  /// Stages `path` and calls `writer` with the temporary's name, with
  /// interrupts held until it returns.
  void write(const std::string& path, const std::function<void(const std::string&)>& writer);

  /// Moves every staged output into place: devices, pipes and standard
  /// output first (they can fail half-way), then the renames.
  void commit();

 private:
  struct Output {
    std::string option, path;  // as given
    std::string target;        // symbolic links followed
    std::string temp;          // staged file, empty until stage()
    bool in_place = false;     // device, pipe or "-": copied at commit
  };
  Output& find(const std::string& path);
  void discard() noexcept;

  const char* command_;
  std::vector<Output> outputs_;
  bool uses_stdout_ = false;
  bool committed_ = false;
};

}  // namespace stray::cli
