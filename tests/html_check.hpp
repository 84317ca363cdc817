// Reading the HTML report back in the tests: a strict well-formedness check
// (the page is written as XML-compatible HTML), the <svg> elements, and the
// fleet result the suites draw.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "stray/core/backend.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"

namespace stray::testing {

/// Empty when `doc` (after an optional <!DOCTYPE html>) is one well-formed
/// element tree: every tag closed in order or self-closed, attribute values
/// in double quotes holding no '<' or '"', '&' only as an entity (&amp;
/// &lt; &gt; &quot; &#NN;), no comments or processing instructions, and
/// <style> text without '<'. Otherwise what is wrong, and where.
inline std::string xml_problem(std::string_view doc) {
  std::size_t i = 0;
  const std::string doctype = "<!DOCTYPE html>";
  if (doc.substr(0, doctype.size()) == doctype) i = doctype.size();
  std::vector<std::string> open;
  int roots = 0;
  const auto at = [&](std::size_t p) { return " at byte " + std::to_string(p); };
  const auto entity = [&](std::size_t p) -> std::size_t {  // length, 0 when not an entity
    for (std::string_view e : {"&amp;", "&lt;", "&gt;", "&quot;"}) {
      if (doc.substr(p, e.size()) == e) return e.size();
    }
    if (doc.substr(p, 2) == "&#") {
      std::size_t q = p + 2;
      while (q < doc.size() && std::isdigit(static_cast<unsigned char>(doc[q]))) ++q;
      if (q > p + 2 && q < doc.size() && doc[q] == ';') return q + 1 - p;
    }
    return 0;
  };
  const auto name_at = [&](std::size_t& p) {
    const std::size_t start = p;
    while (p < doc.size() && (std::isalnum(static_cast<unsigned char>(doc[p])) || doc[p] == '-' ||
                              doc[p] == ':')) {
      ++p;
    }
    return std::string(doc.substr(start, p - start));
  };
  while (i < doc.size()) {
    const char c = doc[i];
    if (c == '&') {
      const std::size_t len = entity(i);
      if (len == 0) return "a bare '&'" + at(i);
      i += len;
    } else if (c != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(c))) return "text outside the root" + at(i);
      ++i;
    } else if (doc.substr(i, 2) == "</") {
      i += 2;
      const std::string name = name_at(i);
      if (i >= doc.size() || doc[i] != '>') return "a malformed end tag" + at(i);
      if (open.empty() || open.back() != name) {
        return "</" + name + "> closes <" + (open.empty() ? "" : open.back()) + ">" + at(i);
      }
      open.pop_back();
      ++i;
    } else {
      ++i;
      const std::string name = name_at(i);
      if (name.empty()) return "a '<' that starts no tag" + at(i);
      bool self_closed = false;
      for (;;) {
        while (i < doc.size() && doc[i] == ' ') ++i;
        if (i >= doc.size()) return "an unterminated tag <" + name + ">";
        if (doc.substr(i, 2) == "/>") {
          self_closed = true;
          i += 2;
          break;
        }
        if (doc[i] == '>') {
          ++i;
          break;
        }
        const std::string attr = name_at(i);
        if (attr.empty() || doc.substr(i, 2) != "=\"") return "a malformed attribute in <" + name + ">" + at(i);
        i += 2;
        while (i < doc.size() && doc[i] != '"') {
          if (doc[i] == '<') return "'<' in an attribute of <" + name + ">" + at(i);
          if (doc[i] == '&') {
            const std::size_t len = entity(i);
            if (len == 0) return "a bare '&' in an attribute of <" + name + ">" + at(i);
            i += len;
          } else {
            ++i;
          }
        }
        if (i >= doc.size()) return "an unterminated attribute in <" + name + ">";
        ++i;
      }
      if (open.empty()) ++roots;
      if (roots > 1) return "a second root element <" + name + ">";
      if (self_closed) continue;
      open.push_back(name);
      if (name == "style") {  // raw text up to </style>
        const std::size_t end = doc.find("</style>", i);
        if (end == std::string_view::npos) return "an unterminated <style>";
        if (doc.substr(i, end - i).find('<') != std::string_view::npos) return "'<' in <style>";
        i = end;
      }
    }
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  if (roots != 1) return "no root element";
  return "";
}

/// Every <svg>...</svg> of the page, in order.
inline std::vector<std::string> svg_elements(const std::string& page) {
  std::vector<std::string> out;
  for (std::size_t p = page.find("<svg "); p != std::string::npos; p = page.find("<svg ", p + 1)) {
    const std::size_t end = page.find("</svg>", p);
    if (end == std::string::npos) break;
    out.push_back(page.substr(p, end + 6 - p));
  }
  return out;
}

/// Occurrences of `needle` in `hay`.
inline std::size_t count_of(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

/// The fleet pipeline fitted on a small synthetic fleet with anomalies.
inline FleetResult synthetic_result(Backend& backend, int64_t entities, uint64_t seed) {
  SyntheticFleetParams sp;
  sp.n_entities = entities;
  sp.seed = seed;
  FleetPipelineParams pp;
  pp.kmeans.seed = seed;
  return fit_fleet(backend, pp, [&](const EventSink& sink) { generate_synthetic_fleet(sp, sink); });
}

}  // namespace stray::testing
