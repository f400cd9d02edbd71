#include "evaluation/text_overlap.hpp"

#include <cctype>
#include <map>
#include <string>

namespace c2s {

namespace {

std::map<std::string, long> word_counts(std::string_view text, long& total) {
  std::map<std::string, long> counts;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    ++counts[word];
    ++total;
    word.clear();
  };
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 128 && std::isalnum(c))
      word += char(std::tolower(c));
    else
      flush();
  }
  flush();
  return counts;
}

}  // namespace

WordOverlap rouge1(std::string_view candidate, std::string_view reference) {
  long n_candidate = 0, n_reference = 0, shared = 0;
  const auto c = word_counts(candidate, n_candidate), r = word_counts(reference, n_reference);
  for (const auto& [word, count] : c)
    if (auto it = r.find(word); it != r.end()) shared += std::min(count, it->second);
  WordOverlap o;
  if (n_candidate > 0) o.precision = double(shared) / double(n_candidate);
  if (n_reference > 0) o.recall = double(shared) / double(n_reference);
  if (o.precision + o.recall > 0) o.f1 = 2 * o.precision * o.recall / (o.precision + o.recall);
  return o;
}

}  // namespace c2s
