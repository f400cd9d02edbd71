#include "data/gene_names.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace c2s {

std::string upper_case(std::string name) {
  for (auto& c : name) c = char(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::size_t make_unique_names(std::vector<std::string>& names) {
  std::unordered_map<std::string, std::size_t> seen;
  for (const auto& n : names) ++seen[n];
  std::unordered_set<std::string> taken(names.begin(), names.end());
  std::unordered_map<std::string, std::size_t> next_suffix;
  std::unordered_set<std::string> first_done;
  std::size_t changed = 0;
  for (auto& n : names) {
    if (seen[n] < 2) continue;
    if (first_done.insert(n).second) continue;  // first occurrence keeps its name
    std::size_t& k = next_suffix[n];
    std::string candidate;
    do {
      candidate = n + "-" + std::to_string(++k);
    } while (taken.count(candidate));
    taken.insert(candidate);
    n = candidate;
    ++changed;
  }
  return changed;
}

bool look_like_barcodes(const std::vector<std::string>& names) {
  if (names.empty()) return false;
  std::size_t n = std::min<std::size_t>(names.size(), 200), hits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& s = names[i * names.size() / n];
    std::size_t j = 0;
    while (j < s.size() && std::strchr("ACGT", s[j]) && s[j]) ++j;
    bool suffix_ok = j == s.size() || (s[j] == '-' && j + 1 < s.size() &&
                                       std::all_of(s.begin() + long(j) + 1, s.end(), ::isdigit));
    if (j >= 8 && suffix_ok) ++hits;
  }
  return hits * 2 > n;
}

}  // namespace c2s
