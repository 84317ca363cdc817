// The HTML report's page: the document around the sections, and its style.
#include "report/html_page.hpp"

#include <string>

#include "stray/core/version.hpp"
#include "report/html_svg.hpp"

namespace stray::internal {
namespace {

// The fonts are the reader's own (no download); sizes suit 100% zoom:
// 16px body text, no chart text under 12px.
constexpr const char* kStyle = R"(
:root{color-scheme:light}
body{margin:0;background:#f6f6f4;color:#1a1a1a;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif}
main{max-width:1080px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.7rem;margin:0 0 .2rem}
h2{font-size:1.3rem;margin:2.2rem 0 .6rem;padding-bottom:.2rem;border-bottom:2px solid #ccc}
h3{font-size:1.05rem;margin:0 0 .3rem;overflow-wrap:anywhere}
p{margin:.4rem 0}
.subtitle{color:#444;margin-bottom:1rem}
.note{color:#3a3a3a;font-size:.95rem}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.2rem;margin:0;background:#fff;border:1px solid #ddd;padding:14px 18px}
dl.summary dt{font-weight:600}
dl.summary dd{margin:0}
figure{margin:1rem 0;background:#fff;border:1px solid #ddd;padding:12px 14px}
figcaption{font-size:.95rem;color:#333;margin-top:.4rem}
svg{display:block;font-family:inherit}
table{border-collapse:collapse;background:#fff;border:1px solid #ddd;width:100%}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #e4e4e4;vertical-align:top}
th{background:#efefec}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.name{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
.swatch{display:inline-block;width:.95em;height:.95em;border:1px solid #444;vertical-align:-.12em;margin-right:.35em}
.finding{background:#fff;border:1px solid #ddd;border-left:5px solid #1a1a1a;padding:12px 14px;margin:1rem 0}
.finding figure{border:0;padding:0;margin:.5rem 0 0}
.finding .facts{color:#333;font-size:.95rem}
footer{margin-top:2.5rem;color:#555;font-size:.9rem}
)";

}  // namespace

HtmlPage::HtmlPage(std::string_view title_html, std::string_view subtitle_html)
    : title_html_(title_html) {
  body_ += "<h1>";
  body_ += title_html;
  body_ += "</h1>\n";
  if (!subtitle_html.empty()) {
    body_ += "<p class=\"subtitle\">";
    body_ += subtitle_html;
    body_ += "</p>\n";
  }
}

void HtmlPage::begin_section(std::string_view id, std::string_view heading_html) {
  body_ += "<section id=\"";
  body_ += id;
  body_ += "\">\n<h2>";
  body_ += heading_html;
  body_ += "</h2>\n";
}

void HtmlPage::end_section() { body_ += "</section>\n"; }

void HtmlPage::figure(std::string_view svg, std::string_view caption_html) {
  body_ += "<figure>";
  body_ += svg;
  if (!caption_html.empty()) {
    body_ += "<figcaption>";
    body_ += caption_html;
    body_ += "</figcaption>";
  }
  body_ += "</figure>\n";
}

void HtmlPage::note(std::string_view html) {
  body_ += "<p class=\"note\">";
  body_ += html;
  body_ += "</p>\n";
}

std::string HtmlPage::finish() const {
  std::string doc;
  doc.reserve(body_.size() + 4096);
  doc += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  doc += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n";
  doc += "<meta name=\"generator\" content=\"stray ";
  doc += version_string;
  doc += "\"/>\n<title>";
  doc += title_html_;
  doc += "</title>\n<style>";
  doc += kStyle;
  doc += "</style>\n</head>\n<body>\n<main>\n";
  doc += body_;
  doc += "<footer>Written by stray ";
  doc += version_string;
  doc += ". This page is self-contained: it loads nothing and runs no script.</footer>\n";
  doc += "</main>\n</body>\n</html>\n";
  return doc;
}

}  // namespace stray::internal
