#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "scaling.hpp"

namespace scaling {

namespace {

// CSV fields here are names we choose and device descriptions; quote any
// that could hold a separator.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

RowPrinter::RowPrinter(const Options& options, std::string backend, std::string device)
    : options_(options), backend_(std::move(backend)), device_(std::move(device)),
      cols_(options.cols) {}

void RowPrinter::print_header() {
  std::printf(
      "kind,rows,cols,tool,backend,threads,step,seconds,rate,unit,peak_mib,quality_name,quality,"
      "iterations,device\n");
}

void RowPrinter::print(const StepRow& row) const {
  std::string rate;
  if (row.work > 0.0 && row.seconds > 0.0) {
    std::ostringstream s;
    s.precision(6);
    s << row.work / row.seconds / 1e9;
    rate = s.str();
  }
  const std::string iterations = row.iterations < 0 ? "" : std::to_string(row.iterations);
  std::printf("%s,%lld,%lld,stray,%s,%d,%s,%.6f,%s,%s,%.1f,%s,%.10g,%s,%s\n", options_.kind.c_str(),
              static_cast<long long>(options_.rows), static_cast<long long>(cols_),
              backend_.c_str(), options_.threads, row.step.c_str(), row.seconds, rate.c_str(),
              row.unit.c_str(), row.peak_mib, row.quality_name.c_str(), row.quality,
              iterations.c_str(), csv_field(device_).c_str());
  std::fflush(stdout);
}

void reset_peak_memory() {
  std::ofstream clear("/proc/self/clear_refs");
  if (clear) clear << "5";
}

double peak_memory_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  }
  return std::nan("");
}

StepRow timed_step(const std::string& name, stray::Backend& backend,
                   const std::function<void()>& fn) {
  reset_peak_memory();
  const auto start = std::chrono::steady_clock::now();
  fn();
  backend.synchronize();
  StepRow row;
  row.step = name;
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  row.peak_mib = peak_memory_mib();
  return row;
}

}  // namespace scaling
