#include "tasks/cell_groups.hpp"

#include <map>

#include "core/error.hpp"

namespace c2s {

std::vector<std::size_t> even_chunk_sizes(std::size_t n, std::size_t most) {
  if (most < 1) throw UsageError("cells per group must be at least 1");
  const std::size_t chunks = (n + most - 1) / most;
  std::vector<std::size_t> sizes;
  for (std::size_t c = 0; c < chunks; ++c) sizes.push_back(n / chunks + (c < n % chunks ? 1 : 0));
  return sizes;
}

std::vector<std::vector<std::size_t>> cell_groups(const std::vector<std::string>& keys, std::size_t cells_per_group) {
  if (cells_per_group < 1) throw UsageError("cells per group must be at least 1");
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto [it, fresh] = members.try_emplace(keys[i]);
    if (fresh) order.push_back(keys[i]);
    it->second.push_back(i);
  }
  std::vector<std::vector<std::size_t>> groups;
  for (const auto& key : order) {
    const auto& m = members[key];
    std::size_t at = 0;
    for (std::size_t size : even_chunk_sizes(m.size(), cells_per_group)) {
      groups.emplace_back(m.begin() + std::ptrdiff_t(at), m.begin() + std::ptrdiff_t(at + size));
      at += size;
    }
  }
  return groups;
}

}  // namespace c2s
