// The groups a multi-cell model is asked about: cells of one key together,
// keys in order of first appearance, each cut into even chunks of at most
// the requested size.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "tasks/cell_groups.hpp"

namespace c2s {
namespace {

using Groups = std::vector<std::vector<std::size_t>>;

TEST(CellGroups, KeysInFirstAppearanceOrderCutIntoEvenChunks) {
  // Key a: 12 cells -> 4, 4, 4 at 5 a group; key b: 3 cells -> 3.
  const std::vector<std::string> keys = {"b", "a", "a", "b", "a", "a", "a", "a", "a", "a", "b", "a", "a", "a", "a"};
  const Groups g = cell_groups(keys, 5);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0], (std::vector<std::size_t>{0, 3, 10}));
  EXPECT_EQ(g[1], (std::vector<std::size_t>{1, 2, 4, 5}));
  EXPECT_EQ(g[2], (std::vector<std::size_t>{6, 7, 8, 9}));
  EXPECT_EQ(g[3], (std::vector<std::size_t>{11, 12, 13, 14}));
  // Sizes differ by one at most; every cell once.
  const Groups seven = cell_groups(std::vector<std::string>(7, "x"), 3);
  ASSERT_EQ(seven.size(), 3u);
  EXPECT_EQ(seven[0].size(), 3u);
  EXPECT_EQ(seven[1].size(), 2u);
  EXPECT_EQ(seven[2].size(), 2u);
  // One cell a group: every cell alone, in order.
  EXPECT_EQ(cell_groups({"a", "b", "a"}, 1), (Groups{{0}, {2}, {1}}));
  EXPECT_TRUE(cell_groups({}, 5).empty());
  EXPECT_THROW(cell_groups({"a"}, 0), UsageError);
}

TEST(CellGroups, EvenChunkSizes) {
  using Sizes = std::vector<std::size_t>;
  EXPECT_EQ(even_chunk_sizes(12, 5), (Sizes{4, 4, 4}));
  EXPECT_EQ(even_chunk_sizes(7, 3), (Sizes{3, 2, 2}));
  EXPECT_EQ(even_chunk_sizes(5, 5), (Sizes{5}));
  EXPECT_EQ(even_chunk_sizes(6, 5), (Sizes{3, 3}));
  EXPECT_EQ(even_chunk_sizes(3, 1), (Sizes{1, 1, 1}));
  EXPECT_TRUE(even_chunk_sizes(0, 4).empty());
  EXPECT_THROW(even_chunk_sizes(3, 0), UsageError);
}

}  // namespace
}  // namespace c2s
