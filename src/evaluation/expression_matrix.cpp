#include "evaluation/expression_matrix.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "data/reconstruction.hpp"
#include "data/store_values.hpp"

namespace c2s {

namespace {

constexpr std::int64_t kReadBlock = 4096;

// Calls visit(position, block, cell_in_block) for every wanted cell, reading
// the store in blocks of consecutive cells between the first and the last
// wanted one (two reads per block instead of two per cell).
template <class Visit>
void for_each_cell(const SentenceStore& store, const std::vector<std::int64_t>& cells, Visit&& visit) {
  std::vector<std::size_t> order(cells.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cells[a] < cells[b]; });
  for (auto c : cells)
    if (c < 0 || c >= store.n_cells())
      throw Error(store.path(), fmt::format("cell {} out of range ({} cells)", c, store.n_cells()));
  CellBlock block;
  std::size_t next = 0;
  while (next < order.size()) {
    const std::int64_t begin = cells[order[next]];
    const std::int64_t end = std::min(store.n_cells(), begin + kReadBlock);
    store.read(begin, end, block);
    std::size_t last = next;
    while (last < order.size() && cells[order[last]] < end) ++last;
    // The rows of one block are independent: filled on the pool.
    const std::size_t first = next;
    ThreadPool::global().parallel_for(last - first, [&](std::size_t k) {
      const std::size_t at = order[first + k];
      visit(at, block, std::size_t(cells[at] - begin));
    });
    next = last;
  }
}

}  // namespace

double natural_log_scale(const SentenceStore& store) {
  const auto values = recorded_store_values(store);
  return values && values->log_base ? std::log(*values->log_base) : 1.0;
}

DenseMatrix expression_matrix(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                              const std::vector<std::uint32_t>& genes, double scale) {
  const std::size_t n_genes = std::size_t(store.n_genes());
  std::vector<std::int64_t> column(n_genes, -1);
  if (genes.empty()) {
    std::iota(column.begin(), column.end(), std::int64_t(0));
  } else {
    for (std::size_t j = 0; j < genes.size(); ++j) {
      if (genes[j] >= n_genes) throw Error(store.path(), fmt::format("gene index {} out of range ({} genes)", genes[j], n_genes));
      column[genes[j]] = std::int64_t(j);
    }
  }
  DenseMatrix m(cells.size(), genes.empty() ? n_genes : genes.size());
  for_each_cell(store, cells, [&](std::size_t row, const CellBlock& block, std::size_t c) {
    auto out = m.row(row);
    std::int64_t g = block.offsets[c];
    for (std::int64_t r = block.run_offsets[c]; r < block.run_offsets[c + 1]; ++r) {
      const float value = float(double(block.run_values[std::size_t(r)]) * scale);
      for (std::uint32_t k = 0; k < block.run_lengths[std::size_t(r)]; ++k, ++g) {
        const std::int64_t j = column[block.genes[std::size_t(g)]];
        if (j >= 0) out[std::size_t(j)] = value;
      }
    }
  });
  return m;
}

DenseMatrix expression_matrix(MatrixSource& source, const std::vector<std::int64_t>& column_of, std::size_t n_features,
                              double scale) {
  if (column_of.size() != std::size_t(source.n_cols()))
    throw Error(source.description(),
                fmt::format("{} feature columns given for its {} columns", column_of.size(), source.n_cols()));
  DenseMatrix m(std::size_t(source.n_rows()), n_features);
  SparseRows rows;
  for (std::int64_t begin = 0; begin < source.n_rows(); begin += kReadBlock) {
    const std::int64_t end = std::min(source.n_rows(), begin + kReadBlock);
    source.read_rows(begin, end, rows);
    for (std::int64_t r = 0; r < rows.n_rows(); ++r) {
      auto out = m.row(std::size_t(begin + r));
      const auto indices = rows.row_indices(r);
      const auto values = rows.row_values(r);
      for (std::size_t k = 0; k < indices.size(); ++k) {
        if (indices[k] < 0 || std::size_t(indices[k]) >= column_of.size())
          throw Error(source.description(), fmt::format("row {}: column {} out of range", begin + r, indices[k]));
        const std::int64_t j = column_of[std::size_t(indices[k])];
        if (j >= 0) out[std::size_t(j)] = float(double(values[k]) * scale);
      }
    }
  }
  return m;
}

DenseMatrix reconstructed_expression(const std::vector<std::vector<std::uint32_t>>& sentences, const InverseModel& model,
                                     std::size_t n_store_genes, const std::vector<std::uint32_t>& genes, double scale) {
  std::vector<std::int64_t> column(n_store_genes, -1);
  if (genes.empty()) {
    std::iota(column.begin(), column.end(), std::int64_t(0));
  } else {
    for (std::size_t j = 0; j < genes.size(); ++j) {
      if (genes[j] >= n_store_genes) throw Error(fmt::format("gene index {} out of range ({} genes)", genes[j], n_store_genes));
      column[genes[j]] = std::int64_t(j);
    }
  }
  DenseMatrix m(sentences.size(), genes.empty() ? n_store_genes : genes.size());
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    auto out = m.row(i);
    for (std::size_t rank = 0; rank < sentences[i].size(); ++rank) {
      const std::uint32_t g = sentences[i][rank];
      if (g >= n_store_genes) throw Error(fmt::format("gene index {} out of range ({} genes)", g, n_store_genes));
      if (column[g] >= 0) out[std::size_t(column[g])] = float(double(reconstructed_value(model, rank)) * scale);
    }
  }
  return m;
}

std::vector<std::vector<std::uint32_t>> cell_top_genes(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                       std::int64_t top_k) {
  std::vector<std::vector<std::uint32_t>> out(cells.size());
  for_each_cell(store, cells, [&](std::size_t at, const CellBlock& block, std::size_t c) {
    std::int64_t a = block.offsets[c], b = block.offsets[c + 1];
    if (top_k > 0) b = std::min(b, a + top_k);
    out[at].assign(block.genes.begin() + a, block.genes.begin() + b);
  });
  return out;
}

std::vector<std::uint32_t> highly_variable_genes(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                 std::size_t n) {
  const std::size_t n_genes = std::size_t(store.n_genes());
  std::vector<std::uint32_t> all(n_genes);
  std::iota(all.begin(), all.end(), std::uint32_t(0));
  if (n >= n_genes) return all;
  if (cells.empty()) throw Error(store.path(), "no cells to choose variable genes from");
  // Per cell, its genes' values; summed per gene afterwards in cell order,
  // so the sums do not depend on the thread count.
  std::vector<std::vector<std::pair<std::uint32_t, float>>> entries(cells.size());
  for_each_cell(store, cells, [&](std::size_t at, const CellBlock& block, std::size_t c) {
    auto& e = entries[at];
    std::int64_t g = block.offsets[c];
    for (std::int64_t r = block.run_offsets[c]; r < block.run_offsets[c + 1]; ++r)
      for (std::uint32_t k = 0; k < block.run_lengths[std::size_t(r)]; ++k, ++g)
        e.emplace_back(block.genes[std::size_t(g)], block.run_values[std::size_t(r)]);
  });
  std::vector<double> sum(n_genes, 0), sum_sq(n_genes, 0);
  for (const auto& e : entries)
    for (auto [g, v] : e) {
      sum[g] += v;
      sum_sq[g] += double(v) * v;
    }
  const double count = double(cells.size());
  std::vector<double> variance(n_genes);
  for (std::size_t g = 0; g < n_genes; ++g) {
    const double mean = sum[g] / count;
    variance[g] = std::max(0.0, sum_sq[g] / count - mean * mean);
  }
  std::stable_sort(all.begin(), all.end(), [&](std::uint32_t a, std::uint32_t b) { return variance[a] > variance[b]; });
  all.resize(n);
  std::sort(all.begin(), all.end());
  return all;
}

std::vector<std::uint32_t> default_feature_genes(const SentenceStore& store, const std::vector<std::int64_t>& cells) {
  return highly_variable_genes(store, cells, kDefaultFeatureGenes);
}

}  // namespace c2s
