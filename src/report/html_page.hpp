// The HTML report's page (internal): one self-contained document — inline
// CSS, inline SVG, no script, no font or image fetched, no URL at all — in
// sections. The fleet report (html_fleet.cpp) fills one; another report
// (stability, say) builds its own the same way.
//
// The markup is well-formed XML as well as HTML (every element closed, void
// elements self-closed, attributes quoted), so a strict parser and the
// structure tests can read it.
#pragma once

#include <string>
#include <string_view>

namespace stray::internal {

class HtmlPage {
 public:
  /// `title_html`: the <title> and the page's <h1>; `subtitle_html` a line
  /// under it ("" = none).
  HtmlPage(std::string_view title_html, std::string_view subtitle_html);

  /// A <section> with an id (for links) and an <h2>; close it with end_section.
  void begin_section(std::string_view id, std::string_view heading_html);
  void end_section();
  /// Markup added where the page is now.
  void add(std::string_view html) { body_ += html; }
  /// A chart in a <figure>, with a visible caption ("" = none).
  void figure(std::string_view svg, std::string_view caption_html);
  /// A paragraph of class "note".
  void note(std::string_view html);

  /// The whole document.
  std::string finish() const;

 private:
  std::string title_html_;
  std::string body_;
};

}  // namespace stray::internal
