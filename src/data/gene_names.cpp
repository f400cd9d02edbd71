#include "data/gene_names.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace c2s {

std::string upper_case(std::string name) {
  for (auto& c : name) c = char(std::toupper(static_cast<unsigned char>(c)));
  return name;
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
