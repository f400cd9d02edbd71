#include "tasks/label_matching.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"

namespace c2s {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string normalize_label_text(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += char(std::tolower(static_cast<unsigned char>(c)));
  }
  auto strip = [&](auto pred) {
    while (!out.empty() && pred(out.back())) out.pop_back();
    std::size_t start = 0;
    while (start < out.size() && pred(out[start])) ++start;
    out.erase(0, start);
  };
  strip([](char c) { return c == '"' || c == '\'' || c == ' '; });
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  strip([](char c) { return c == '"' || c == '\'' || c == ' '; });
  return out;
}

LabelMatch match_label(std::string_view text, const std::vector<std::string>& labels) {
  if (labels.empty()) throw Error("label matching", "no labels to match against");
  const std::string t = normalize_label_text(text);
  LabelMatch best{0, -1};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string l = normalize_label_text(labels[i]);
    const std::size_t longer = std::max(t.size(), l.size());
    const double similarity = longer == 0 ? 1.0 : 1.0 - double(edit_distance(t, l)) / double(longer);
    if (similarity > best.similarity) best = {i, similarity};
  }
  return best;
}

}  // namespace c2s
