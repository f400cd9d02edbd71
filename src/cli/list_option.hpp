// Comma-separated list flags (--obs cell_type,sample_id; --fractions 0.8,0.1,0.1).
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace c2s {

inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace c2s
