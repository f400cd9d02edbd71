#include "data/preprocessing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/thread_pool.hpp"
#include "data/row_block_reader.hpp"

namespace c2s {

nlohmann::json PreprocessOptions::to_json() const {
  nlohmann::json j;
  j["enabled"] = enabled;
  if (enabled) {
    j["min_genes"] = min_genes;
    j["min_cells"] = min_cells;
    j["target_sum"] = target_sum ? nlohmann::json(*target_sum) : nlohmann::json("median");
    j["log_base"] = log_base;
    j["max_pct_mito"] = max_pct_mito ? nlohmann::json(*max_pct_mito) : nlohmann::json(nullptr);
    j["mito_prefix"] = mito_prefix;
  }
  return j;
}

double PreprocessPlan::normalise(double raw, std::size_t k) const {
  if (!options.enabled) return raw;
  double total = cell_totals[k];
  double scaled = total > 0 ? raw * (target_sum / total) : raw;
  return std::log1p(scaled) / std::log(options.log_base);
}

nlohmann::json PreprocessPlan::summary() const {
  return {{"cells_in", n_cells_in},
          {"genes_in", n_genes_in},
          {"cells_kept", kept_cells.size()},
          {"genes_kept", kept_genes.size()},
          {"cells_below_min_genes", cells_below_min_genes},
          {"cells_above_max_pct_mito", cells_above_mito},
          {"genes_below_min_cells", genes_below_min_cells},
          {"nonzeros", nnz_kept},
          {"target_sum", target_sum},
          {"integer_valued", integer_valued}};
}

namespace {

struct RowScan {
  std::int32_t positives = 0;
  double total = 0, mito = 0;
  bool invalid = false;  // a NaN, infinite or negative value
};

// One cell's sums, branch-free with two independent accumulators: a single
// running double sum is a chain of dependent additions. (Counts are
// integers, so the sums are exact in any order.)
RowScan scan_row(const float* v, const std::int32_t* g, std::size_t n, const std::uint8_t* is_mito, bool& integer) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  double t0 = 0, t1 = 0, m0 = 0, m1 = 0;
  std::int32_t p0 = 0, p1 = 0;
  bool invalid = false, fractional = false;
  auto one = [&](float x, std::int32_t gene, double& t, double& m, std::int32_t& p) {
    invalid |= !(x >= 0) | (x == kInf);
    p += x > 0;
    t += x;
    m += is_mito[gene] ? x : 0.0f;
    // floor() is a libm call without SSE4.1; a truncating cast is not.
    fractional |= (x < 16777216.f) & (float(std::int32_t(x)) != x);
  };
  std::size_t e = 0;
  for (; e + 1 < n; e += 2) {
    one(v[e], g[e], t0, m0, p0);
    one(v[e + 1], g[e + 1], t1, m1, p1);
  }
  if (e < n) one(v[e], g[e], t0, m0, p0);
  if (fractional) integer = false;
  RowScan s;
  s.positives = p0 + p1;
  s.total = t0 + t1;
  s.mito = m0 + m1;
  s.invalid = invalid;
  return s;
}

std::string cell_context(const MatrixSource& source, std::int64_t row) {
  const auto& names = source.obs().index;
  std::string name = std::size_t(row) < names.size() ? names[std::size_t(row)] : std::to_string(row);
  return fmt::format("{}: cell {} ('{}')", source.description(), row, name);
}

// The exact error for a cell whose scan found an invalid value (off the fast path).
[[noreturn]] void report_invalid_row(const MatrixSource& source, std::int64_t row, const float* v,
                                     const std::int32_t* g, std::size_t n) {
  for (std::size_t e = 0; e < n; ++e) {
    if (!std::isfinite(v[e]))
      throw Error(cell_context(source, row), fmt::format("X holds {} (gene '{}'); expression must be finite", v[e],
                                                         source.var().index[std::size_t(g[e])]));
    if (v[e] < 0)
      throw Error(cell_context(source, row),
                  fmt::format("X holds a negative value ({}) for gene '{}': these are not counts (scaled or centred "
                              "data?); give raw counts (--raw or --layer) to convert",
                              v[e], source.var().index[std::size_t(g[e])]));
  }
  throw Error(cell_context(source, row), "invalid value");
}

// Rows per task: per-task partial sums are combined in task order, the same
// whatever the thread count.
constexpr std::int64_t kRowsPerTask = 256;

}  // namespace

PreprocessPlan plan_preprocessing(MatrixSource& source, const PreprocessOptions& options, const ScanHooks& hooks) {
  if (options.min_genes < 0 || options.min_cells < 0) throw UsageError("--min-genes and --min-cells must be >= 0");
  if (options.enabled && (!(options.log_base > 0) || options.log_base == 1))
    throw UsageError("--log-base must be positive and not 1");
  if (options.target_sum && !(*options.target_sum > 0)) throw UsageError("--target-sum must be positive");
  if (options.block_rows <= 0) throw UsageError("block size must be positive");

  PreprocessPlan plan;
  plan.options = options;
  plan.n_cells_in = source.n_rows();
  plan.n_genes_in = source.n_cols();
  const std::int64_t n_rows = source.n_rows(), n_cols = source.n_cols();
  if (n_rows == 0 || n_cols == 0)
    throw Error(source.description(), fmt::format("the matrix is empty ({} cells x {} genes)", n_rows, n_cols));

  std::vector<std::uint8_t> is_mito(std::size_t(n_cols), 0);
  for (std::int64_t g = 0; g < n_cols; ++g) {
    const std::string& name = source.var().index[std::size_t(g)];
    if (options.enabled && !options.mito_prefix.empty() && name.size() >= options.mito_prefix.size() &&
        std::equal(options.mito_prefix.begin(), options.mito_prefix.end(), name.begin(),
                   [](char a, char b) { return std::toupper((unsigned char)a) == std::toupper((unsigned char)b); }))
      is_mito[std::size_t(g)] = 1;
  }

  std::vector<std::int64_t> gene_cells(std::size_t(n_cols), 0);
  std::vector<std::uint8_t> keep_row(std::size_t(n_rows), 0);
  std::vector<RowScan> rows(static_cast<std::size_t>(n_rows));
  // Entries of genes that may still fall below min_cells, so that dropping
  // them can be subtracted from their cells' totals without a second pass.
  // A gene becomes safe (no more records) once min_cells cells express it.
  struct RareEntry {
    std::int32_t gene;
    std::int64_t row;
    float value;
  };
  std::vector<RareEntry> rare;
  std::vector<std::uint8_t> safe(std::size_t(n_cols), options.enabled ? 0 : 1);
  auto& pool = ThreadPool::global();
  Progress progress("read", std::uint64_t(n_rows));
  bool integer_valued = true;
  std::vector<std::vector<std::int32_t>> task_gene_cells;
  std::vector<std::vector<RareEntry>> task_rare;
  std::vector<std::uint8_t> task_integer;

  RowBlockReader reader(source, options.block_rows);
  while (const SparseRows* next = reader.next()) {
    const SparseRows& block = *next;
    const std::int64_t begin = block.first_row, n = block.n_rows();
    std::size_t n_tasks = std::size_t((n + kRowsPerTask - 1) / kRowsPerTask);
    task_gene_cells.resize(n_tasks);
    task_rare.resize(n_tasks);
    task_integer.assign(n_tasks, 1);
    if (hooks.begin_block) hooks.begin_block(block, n_tasks, kRowsPerTask);
    pool.parallel_for(n_tasks, [&](std::size_t t) {
      std::int64_t r0 = std::int64_t(t) * kRowsPerTask, r1 = std::min(n, r0 + kRowsPerTask);
      auto& local = task_gene_cells[t];
      local.assign(std::size_t(n_cols), 0);
      task_rare[t].clear();
      bool integer = true;
      for (std::int64_t r = r0; r < r1; ++r) {
        const float* values = block.row_values(r).data();
        const std::int32_t* genes = block.row_indices(r).data();
        const std::size_t n_entries = block.row_size(r);
        RowScan s = scan_row(values, genes, n_entries, is_mito.data(), integer);
        if (s.invalid) report_invalid_row(source, begin + r, values, genes, n_entries);
        rows[std::size_t(begin + r)] = s;
        bool keep = !options.enabled || s.positives >= options.min_genes;
        if (keep && options.enabled && options.max_pct_mito && s.total > 0 &&
            100.0 * s.mito / s.total > *options.max_pct_mito)
          keep = false;
        keep_row[std::size_t(begin + r)] = keep;
        if (!keep) continue;
        // Raw pointers: through vectors the compiler reloads their data
        // pointers on every entry (the stores might alias them).
        std::int32_t* cells_of_gene = local.data();
        const std::uint8_t* gene_safe = safe.data();
        const std::int64_t min_cells = options.min_cells;
        for (std::size_t e = 0; e < n_entries; ++e) {
          if (!(values[e] > 0)) continue;
          const std::int32_t g = genes[e];
          if (++cells_of_gene[g] < min_cells && !gene_safe[g]) task_rare[t].push_back({g, begin + r, values[e]});
        }
        if (hooks.kept_row) hooks.kept_row(t, begin + r, genes, values, n_entries, std::size_t(s.positives));
      }
      task_integer[t] = integer;
    });
    for (std::size_t t = 0; t < n_tasks; ++t) {
      integer_valued = integer_valued && task_integer[t];
      for (std::int64_t g = 0; g < n_cols; ++g) gene_cells[std::size_t(g)] += task_gene_cells[t][std::size_t(g)];
      rare.insert(rare.end(), task_rare[t].begin(), task_rare[t].end());
    }
    for (std::int64_t g = 0; g < n_cols; ++g)
      if (gene_cells[std::size_t(g)] >= options.min_cells) safe[std::size_t(g)] = 1;
    std::erase_if(rare, [&](const RareEntry& e) { return safe[std::size_t(e.gene)]; });
    progress.advance(std::uint64_t(n));
  }
  progress.finish();
  plan.integer_valued = integer_valued;

  for (std::int64_t r = 0; r < n_rows; ++r) {
    if (keep_row[std::size_t(r)]) {
      plan.kept_cells.push_back(r);
    } else if (rows[std::size_t(r)].positives < options.min_genes) {
      ++plan.cells_below_min_genes;
    } else {
      ++plan.cells_above_mito;
    }
  }
  plan.gene_position.assign(std::size_t(n_cols), -1);
  for (std::int64_t g = 0; g < n_cols; ++g) {
    if (options.enabled && gene_cells[std::size_t(g)] < options.min_cells) {
      ++plan.genes_below_min_cells;
      continue;
    }
    plan.gene_position[std::size_t(g)] = std::int32_t(plan.kept_genes.size());
    plan.kept_genes.push_back(g);
    plan.gene_n_cells.push_back(gene_cells[std::size_t(g)]);
  }
  if (plan.kept_cells.empty())
    throw Error(source.description(), fmt::format("no cell has at least {} expressed genes (--min-genes)", options.min_genes));
  if (plan.kept_genes.empty())
    throw Error(source.description(), fmt::format("no gene is expressed in at least {} cells (--min-cells)", options.min_cells));

  // What the dropped genes contributed leaves their cells' totals.
  for (const RareEntry& e : rare) {
    RowScan& s = rows[std::size_t(e.row)];
    s.total -= e.value;
    --s.positives;
  }
  const std::size_t n_kept = plan.kept_cells.size();
  plan.cell_totals.resize(n_kept);
  plan.cell_qc.resize(n_kept);
  std::int64_t nnz = 0;
  for (std::size_t k = 0; k < n_kept; ++k) {
    const RowScan& s = rows[std::size_t(plan.kept_cells[k])];
    plan.cell_totals[k] = s.total;
    nnz += s.positives;
  }
  plan.nnz_kept = nnz;
  // QC figures describe the input cell, before gene filtering.
  for (const RareEntry& e : rare) {
    RowScan& s = rows[std::size_t(e.row)];
    s.total += e.value;
    ++s.positives;
  }
  for (std::size_t k = 0; k < n_kept; ++k) {
    const RowScan& s = rows[std::size_t(plan.kept_cells[k])];
    plan.cell_qc[k] = {s.positives, s.total, s.total > 0 ? 100.0 * s.mito / s.total : 0.0};
  }

  if (options.enabled) {
    if (options.target_sum) {
      plan.target_sum = *options.target_sum;
    } else {
      // scanpy: the median over cells with a positive total.
      std::vector<double> t;
      for (double x : plan.cell_totals)
        if (x > 0) t.push_back(x);
      if (t.empty()) throw Error(source.description(), "every kept cell has a total count of zero");
      std::size_t mid = t.size() / 2;
      std::nth_element(t.begin(), t.begin() + long(mid), t.end());
      double hi = t[mid];
      if (t.size() % 2 == 1) {
        plan.target_sum = hi;
      } else {
        double lo = *std::max_element(t.begin(), t.begin() + long(mid));
        plan.target_sum = (lo + hi) / 2;
      }
    }
    if (!integer_valued)
      warn(source.description() +
           ": X holds non-integer values; preprocessing assumes raw counts (use --no-preprocess if X is already "
           "normalised, or --raw/--layer to pick the counts)");
  }
  return plan;
}

}  // namespace c2s
