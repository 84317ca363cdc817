// The fleet-size scaling driver (bench/scaling/README.md): one process runs
// one pipeline on one backend at one fleet size and prints a CSV row per
// step; bench/scaling/run.py walks the ladder, runs the peers on the same
// data and draws the report.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "stray/stray.hpp"

namespace scaling {

struct Options {
  std::string kind;              // "dense", "fleet" or "ceilings"
  int64_t rows = 10000;          // entities
  int64_t cols = 256;            // dense only: features
  int64_t components = 32;       // PCA components
  int64_t clusters = 100;        // k
  int iterations = 20;           // Lloyd iterations at most (tol = 0: until no label moves)
  int64_t lof_max_rows = 100000; // LOF (20 neighbours) up to this many rows
  std::string backend = "cpu";
  int threads = 0;               // CPU threads; 0 = all cores
  uint64_t seed = 0;
  std::string write_data;        // folder for the peers' copy of the data ("" = none)
};

// One step's figures. `work` is in `unit`'s numerator (flops or bytes) and
// 0 where no rate applies; the rate printed is work / seconds / 1e9.
struct StepRow {
  std::string step;
  double seconds = 0.0;
  double work = 0.0;
  std::string unit;  // "GFLOP/s", "GB/s" or ""
  double peak_mib = 0.0;
  std::string quality_name;
  double quality = 0.0;
  int iterations = -1;  // k-means: Lloyd iterations run (-1: not applicable)
};

// Prints the CSV (header once, then rows) on stdout.
class RowPrinter {
 public:
  RowPrinter(const Options& options, std::string backend, std::string device);
  static void print_header();
  void set_cols(int64_t cols) { cols_ = cols; }
  void print(const StepRow& row) const;

 private:
  const Options& options_;
  std::string backend_;
  std::string device_;
  int64_t cols_ = 0;
};

// The process's peak resident memory since the last reset (Linux's VmHWM,
// reset through /proc/self/clear_refs), so each step reports its own peak.
// Where the reset is refused the peak is the process's since its start.
void reset_peak_memory();
double peak_memory_mib();

// Runs `fn`, waits for the backend, and fills seconds and peak_mib.
StepRow timed_step(const std::string& name, stray::Backend& backend,
                   const std::function<void()>& fn);

void run_dense(const Options& options, stray::Backend& backend, RowPrinter& out);
void run_fleet(const Options& options, stray::Backend& backend, RowPrinter& out);
void run_ceilings(const Options& options, stray::Backend& backend, RowPrinter& out);

}  // namespace scaling
