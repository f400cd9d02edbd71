#include "data/rank_transform.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "core/random.hpp"

namespace c2s {

namespace {

// Counts below this are bucketed (counting sort); larger or non-integer
// values are sorted with random tie keys.
constexpr std::uint32_t kBuckets = 256;

template <class Gene>
void shuffle_range(Gene* genes, std::size_t n, Rng& rng) {
  for (std::size_t i = n; i > 1; --i) std::swap(genes[i - 1], genes[rng.below32(std::uint32_t(i))]);
}

// Sorts (value desc, random tie key) with 64-bit keys: value bits above, the
// entry's index below; the random key is drawn per entry.
template <class Gene>
void sort_with_random_ties(Gene* genes, float* values, std::size_t n, Rng& rng) {
  thread_local std::vector<std::uint64_t> keys;
  thread_local std::vector<Gene> g2;
  thread_local std::vector<float> v2;
  // Positions in a random order: position p of entry i gives its tie rank.
  thread_local std::vector<std::uint32_t> perm;
  perm.resize(n);
  for (std::size_t i = 0; i < n; ++i) perm[i] = std::uint32_t(i);
  for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below32(std::uint32_t(i))]);
  keys.resize(n);
  for (std::size_t p = 0; p < n; ++p) {
    std::uint32_t src = perm[p];
    // Non-negative floats order as their bit patterns; invert for descending.
    keys[p] = (std::uint64_t(~std::bit_cast<std::uint32_t>(values[src])) << 32) | std::uint64_t(p);
  }
  std::sort(keys.begin(), keys.end());
  g2.resize(n);
  v2.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t src = perm[std::uint32_t(keys[i])];
    g2[i] = genes[src];
    v2[i] = values[src];
  }
  std::memcpy(genes, g2.data(), n * sizeof(Gene));
  std::memcpy(values, v2.data(), n * sizeof(float));
}

// Appends the runs of equal values of sorted values[0, n).
void append_runs(const float* values, std::size_t n, BlockVector<float>& run_values,
                 BlockVector<std::uint32_t>& run_lengths) {
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && values[j] == values[i]) ++j;
    run_values.push_back(values[i]);
    run_lengths.push_back(std::uint32_t(j - i));
    i = j;
  }
}

}  // namespace

template <class Gene>
void rank_cell(const std::uint32_t* genes, const float* values, std::size_t n, std::uint64_t seed,
               std::uint64_t cell_index, Gene* g2, BlockVector<float>& run_values,
               BlockVector<std::uint32_t>& run_lengths) {
  if (n == 0) return;
  Rng rng(seed, cell_index);
  thread_local std::vector<float> large_values;

  // Counts: small integers go to buckets, the rest (few: the top genes) are
  // sorted; any non-integer value sends the whole cell to the sort. Entries
  // are dealt to four lanes (i mod 4), each with its own counters and its
  // own slice of every bucket: one counter per bucket made each entry wait
  // for the previous one (most entries are 1s).
  constexpr std::size_t kLanes = 4;
  std::uint32_t count[kLanes][kBuckets] = {};
  std::size_t large = 0;
  for (std::size_t i = 0; i < n; ++i) {
    float v = values[i];
    auto iv = std::uint32_t(v);
    if (float(iv) != v || v >= 4294967296.f) {
      large_values.assign(values, values + n);
      for (std::size_t i = 0; i < n; ++i) g2[i] = Gene(genes[i]);
      sort_with_random_ties(g2, large_values.data(), n, rng);
      append_runs(large_values.data(), n, run_values, run_lengths);
      return;
    }
    if (iv < kBuckets) {
      ++count[i % kLanes][iv];
    } else {
      ++large;
    }
  }
  // Start of each lane's slice of each bucket, descending values, after the
  // large entries.
  std::uint32_t start[kLanes][kBuckets];
  std::uint32_t bucket_size[kBuckets];
  std::size_t pos = large;
  for (std::size_t b = kBuckets; b-- > 0;) {
    std::size_t first = pos;
    for (std::size_t l = 0; l < kLanes; ++l) {
      start[l][b] = std::uint32_t(pos);
      pos += count[l][b];
    }
    bucket_size[b] = std::uint32_t(pos - first);
  }
  large_values.resize(large);
  std::size_t next_large = 0;
  for (std::size_t i = 0; i < n; ++i) {
    float v = values[i];
    auto iv = std::uint32_t(v);
    if (iv < kBuckets) {
      g2[start[i % kLanes][iv]++] = Gene(genes[i]);
    } else {
      large_values[next_large] = v;
      g2[next_large++] = Gene(genes[i]);
    }
  }
  if (large > 1) sort_with_random_ties(g2, large_values.data(), large, rng);
  append_runs(large_values.data(), large, run_values, run_lengths);
  // Ties within a bucket in a uniformly random order; each bucket is a run.
  std::size_t b_end = large;
  for (std::size_t b = kBuckets; b-- > 0;) {
    std::size_t b_begin = b_end;
    b_end += bucket_size[b];
    if (b_end == b_begin) continue;
    if (b_end - b_begin > 1) shuffle_range(g2 + b_begin, b_end - b_begin, rng);
    run_values.push_back(float(b));
    run_lengths.push_back(std::uint32_t(b_end - b_begin));
  }
}

template void rank_cell(const std::uint32_t*, const float*, std::size_t, std::uint64_t, std::uint64_t,
                        std::uint32_t*, BlockVector<float>&, BlockVector<std::uint32_t>&);
template void rank_cell(const std::uint32_t*, const float*, std::size_t, std::uint64_t, std::uint64_t,
                        std::uint16_t*, BlockVector<float>&, BlockVector<std::uint32_t>&);

void rank_cell(std::vector<std::uint32_t>& genes, std::vector<float>& values, std::uint64_t seed,
               std::uint64_t cell_index) {
  const std::size_t n = genes.size();
  std::vector<std::uint32_t> g(n);
  BlockVector<float> run_values;
  BlockVector<std::uint32_t> run_lengths;
  rank_cell(genes.data(), values.data(), n, seed, cell_index, g.data(), run_values, run_lengths);
  genes.swap(g);
  values.clear();
  for (std::size_t r = 0; r < run_values.size(); ++r) values.insert(values.end(), run_lengths[r], run_values[r]);
}

}  // namespace c2s
