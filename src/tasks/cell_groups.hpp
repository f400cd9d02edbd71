// Groups of cells for multi-cell tasks: which cells one prompt asks about
// (annotate) or how many cells one prompt writes (generate-cells), cut as
// evenly as allowed.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace c2s {

// `n` cut into as few chunks of at most `most` as possible, their sizes as
// even as allows (12 at 5: 4, 4, 4; 7 at 3: 3, 2, 2). A UsageError when
// `most` is 0.
std::vector<std::size_t> even_chunk_sizes(std::size_t n, std::size_t most);

// The positions of `keys` (one per cell; the cells' group values, e.g.
// tissue or sample) with the same key, in order of first appearance, each
// cut into consecutive chunks of even_chunk_sizes(its cells, cells_per_group).
std::vector<std::vector<std::size_t>> cell_groups(const std::vector<std::string>& keys, std::size_t cells_per_group);

}  // namespace c2s
