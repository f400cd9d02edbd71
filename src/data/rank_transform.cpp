#include "data/rank_transform.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/random.hpp"

namespace c2s {

namespace {
// Maps a non-negative float to a key whose unsigned order is the float order.
inline std::uint32_t order_key(float v) { return std::bit_cast<std::uint32_t>(v); }
}  // namespace

void rank_cell(std::vector<std::uint32_t>& genes, std::vector<float>& values, std::uint64_t seed,
               std::uint64_t cell_index) {
  const std::size_t n = genes.size();
  if (n < 2) return;
  // Shuffle positions (Fisher-Yates), then sort by (value desc, shuffled
  // position): the same as a stable sort of the shuffled entries.
  thread_local std::vector<std::uint32_t> perm;
  thread_local std::vector<std::uint64_t> keys;
  perm.resize(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = std::uint32_t(i);
  Rng rng(seed, cell_index);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  keys.resize(n);
  for (std::size_t p = 0; p < n; ++p) {
    std::uint32_t src = perm[p];
    // Larger values first: invert the value key; ties keep shuffled order.
    keys[p] = (std::uint64_t(~order_key(values[src])) << 32) | std::uint64_t(p);
  }
  std::sort(keys.begin(), keys.end());
  thread_local std::vector<std::uint32_t> g2;
  thread_local std::vector<float> v2;
  g2.resize(n);
  v2.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t src = perm[std::uint32_t(keys[i])];
    g2[i] = genes[src];
    v2[i] = values[src];
  }
  std::memcpy(genes.data(), g2.data(), n * sizeof(std::uint32_t));
  std::memcpy(values.data(), v2.data(), n * sizeof(float));
}

}  // namespace c2s
