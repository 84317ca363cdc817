// The HTML report as a browser draws it: headless Chromium renders the page
// of a synthetic fleet to a PNG, and the picture must have the size asked
// for and show the charts — many colours, the palette's among them, not a
// blank page. Skips, saying why, where no Chromium is installed
// (scripts/test installs Debian's `chromium` when it runs as root).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "html_check.hpp"
#include "report/html_svg.hpp"
#include "stray/report/html_report.hpp"
#include "temp_dir.hpp"

namespace stray {
namespace {

namespace fs = std::filesystem;

// An 8-bit RGB or RGBA PNG, decoded (no interlacing: what Chromium writes).
struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint32_t> pixels;  // 0xRRGGBB, row by row
  std::string error;              // why it could not be read
};

uint32_t be32(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Undoes the per-row filters (PNG spec, section 9) in place.
bool unfilter(std::vector<unsigned char>& raw, uint32_t height, std::size_t stride, std::size_t bpp) {
  std::vector<unsigned char> prev(stride, 0);
  for (uint32_t y = 0; y < height; ++y) {
    unsigned char* row = raw.data() + y * (stride + 1);
    const int filter = row[0];
    unsigned char* px = row + 1;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? px[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int add = 0;
      switch (filter) {
        case 0: break;
        case 1: add = a; break;
        case 2: add = b; break;
        case 3: add = (a + b) / 2; break;
        case 4: add = paeth(a, b, c); break;
        default: return false;
      }
      px[i] = static_cast<unsigned char>(px[i] + add);
    }
    std::copy(px, px + stride, prev.begin());
  }
  return true;
}

Image read_png(const std::string& path) {
  Image img;
  const std::vector<unsigned char> b = testing::read_bytes(path);
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (b.size() < 8 || !std::equal(kSignature, kSignature + 8, b.begin())) {
    img.error = "not a PNG";
    return img;
  }
  int depth = 0, colour = 0, interlace = 0;
  std::vector<unsigned char> idat;
  for (std::size_t p = 8; p + 12 <= b.size();) {
    const uint32_t len = be32(&b[p]);
    if (len > b.size() - p - 12) break;
    const std::string type(b.begin() + static_cast<std::ptrdiff_t>(p + 4), b.begin() + static_cast<std::ptrdiff_t>(p + 8));
    const unsigned char* data = &b[p + 8];
    if (type == "IHDR" && len >= 13) {
      img.width = be32(data);
      img.height = be32(data + 4);
      depth = data[8], colour = data[9], interlace = data[12];
    } else if (type == "IDAT") {
      idat.insert(idat.end(), data, data + len);
    }
    p += 12 + len;
  }
  const std::size_t bpp = colour == 6 ? 4 : colour == 2 ? 3 : 0;
  if (depth != 8 || bpp == 0 || interlace != 0 || img.width == 0 || img.height == 0 ||
      img.width > 20000 || img.height > 20000) {
    img.error = "unsupported PNG: depth " + std::to_string(depth) + ", colour type " +
                std::to_string(colour) + ", interlace " + std::to_string(interlace);
    return img;
  }
  const std::size_t stride = img.width * bpp;
  std::vector<unsigned char> raw(img.height * (stride + 1));
  uLongf got = raw.size();
  if (uncompress(raw.data(), &got, idat.data(), idat.size()) != Z_OK || got != raw.size() ||
      !unfilter(raw, img.height, stride, bpp)) {
    img.error = "corrupt image data";
    return img;
  }
  img.pixels.reserve(std::size_t{img.width} * img.height);
  for (uint32_t y = 0; y < img.height; ++y) {
    const unsigned char* px = raw.data() + y * (stride + 1) + 1;
    for (uint32_t x = 0; x < img.width; ++x, px += bpp) {
      img.pixels.push_back(uint32_t{px[0]} << 16 | uint32_t{px[1]} << 8 | px[2]);
    }
  }
  return img;
}

// The browser: $STRAY_CHROMIUM, or Debian's `chromium` on the PATH.
std::string chromium() {
  if (const char* env = std::getenv("STRAY_CHROMIUM"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    for (const char* name : {"chromium", "chromium-browser"}) {
      const fs::path p = fs::path(dirs.substr(start, end - start)) / name;
      if (!p.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
    }
    start = end + 1;
  }
  return "";
}

TEST(HtmlRender, ChromiumDrawsTheChartsAtTheSizeAskedFor) {
  const std::string browser = chromium();
  if (browser.empty()) {
    GTEST_SKIP() << "no chromium on the PATH (nor STRAY_CHROMIUM): scripts/test installs Debian's "
                    "chromium when run as root with apt-get";
  }
  testing::TempDir dir;
  auto backend = make_backend("cpu");
  const FleetResult r = testing::synthetic_result(*backend, 800, 4);
  write_fleet_html_report(dir.file("report.html"), r);

  constexpr uint32_t kWidth = 1000, kHeight = 1500;
  // Its own profile directory, so parallel runs do not share one; no
  // sandbox, which needs privileges a test runner (or root) may not give.
  const std::string cmd = "timeout 120 '" + browser + "' --headless --no-sandbox --disable-gpu " +
                          "--no-first-run --hide-scrollbars --force-device-scale-factor=1 " +
                          "--user-data-dir='" + dir.file("profile") + "' --window-size=" +
                          std::to_string(kWidth) + "," + std::to_string(kHeight) +
                          " --screenshot='" + dir.file("shot.png") + "' 'file://" +
                          dir.file("report.html") + "'";
  const testing::CliRun run = testing::run_program(cmd, "");
  ASSERT_TRUE(fs::exists(dir.file("shot.png"))) << "status " << run.status << "\n" << run.err;

  const Image img = read_png(dir.file("shot.png"));
  ASSERT_EQ(img.error, "");
  EXPECT_EQ(img.width, kWidth);
  EXPECT_EQ(img.height, kHeight);

  // Not blank: the commonest colour (the page's background) leaves a good
  // share to text and charts, in many colours.
  std::map<uint32_t, std::size_t> histogram;
  for (uint32_t p : img.pixels) ++histogram[p];
  std::size_t commonest = 0;
  for (const auto& [colour, n] : histogram) commonest = std::max(commonest, n);
  const double drawn = 1.0 - static_cast<double>(commonest) / static_cast<double>(img.pixels.size());
  EXPECT_GT(drawn, 0.05) << "the page looks blank";
  EXPECT_GT(histogram.size(), 100u) << "too few colours for text and charts";
  // The findings' circles and the k curve are drawn in the palette's colours:
  // some of them must be on screen, exactly.
  int palette_seen = 0;
  for (const char* hex : internal::kPalette) {
    palette_seen += histogram.count(static_cast<uint32_t>(std::stoul(hex + 1, nullptr, 16))) > 0;
  }
  EXPECT_GE(palette_seen, 3);
}

}  // namespace
}  // namespace stray
