#include "data/conversion.hpp"

#include <chrono>
#include <ctime>
#include <future>
#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/thread_pool.hpp"
#include "data/gene_names.hpp"
#include "data/rank_transform.hpp"
#include "data/row_block_reader.hpp"
#include "data/sentence_store.hpp"

namespace c2s {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string iso_time_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The obs columns kept in the store, restricted to the kept cells, plus QC.
DataFrame store_obs(const MatrixSource& source, const PreprocessPlan& plan, const ConvertOptions& options) {
  const DataFrame& obs = source.obs();
  std::vector<const Column*> chosen;
  if (options.all_obs_columns && options.obs_columns.empty()) {
    for (const auto& c : obs.columns) chosen.push_back(&c);
  } else {
    for (const auto& name : options.obs_columns) {
      const Column* c = obs.find(name);
      if (!c) {
        std::string have;
        for (const auto& col : obs.columns) have += (have.empty() ? "" : ", ") + col.name;
        throw UsageError(source.description(),
                         fmt::format("no obs column '{}' (columns: {})", name, have.empty() ? "none" : have));
      }
      chosen.push_back(c);
    }
  }
  DataFrame out;
  for (auto k : plan.kept_cells) out.index.push_back(obs.index[std::size_t(k)]);
  for (const Column* c : chosen) out.columns.push_back(c->take(plan.kept_cells));
  if (plan.options.enabled) {
    Column n_genes{.name = "n_genes_by_counts", .kind = Column::Kind::Numeric};
    Column total{.name = "total_counts", .kind = Column::Kind::Numeric};
    Column mt{.name = "pct_counts_mt", .kind = Column::Kind::Numeric};
    for (const auto& qc : plan.cell_qc) {
      n_genes.numbers.push_back(qc.n_genes_by_counts);
      total.numbers.push_back(qc.total_counts);
      mt.numbers.push_back(qc.pct_counts_mt);
    }
    for (Column* c : {&n_genes, &total, &mt}) {
      // Recomputed figures replace same-named input columns.
      std::erase_if(out.columns, [&](const Column& x) { return x.name == c->name; });
      out.columns.push_back(std::move(*c));
    }
  }
  return out;
}

constexpr std::int64_t kRowsPerTask = 128;

}  // namespace

std::vector<std::string> vocabulary_names(const std::vector<std::string>& var_names, const std::string& context) {
  std::vector<std::string> names = var_names;
  if (std::size_t changed = make_index_unique(names))
    warn(fmt::format("{}: {} duplicate gene names made unique by appending -1, -2, ... (as anndata does)", context,
                     changed));
  for (auto& n : names) n = upper_case(std::move(n));
  if (std::size_t changed = make_index_unique(names))
    warn(fmt::format("{}: {} gene names collide once upper-cased; made unique by appending -1, -2, ...", context,
                     changed));
  return names;
}

ConvertResult convert_to_store(MatrixSource& source, const std::string& store_path, const ConvertOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  ConvertResult result;
  const std::string context = source.description();

  if (source.n_cols() > source.n_rows() && look_like_barcodes(source.var().index))
    warn(context + ": more genes than cells and the gene names look like cell barcodes: is the matrix transposed? "
                   "(c2s expects cells in rows)");

  { AtomicOutput probe(store_path); }  // fail on an unwritable output before the long work
  StoreHeader header;
  std::vector<std::string> source_names = source.var().index;
  make_index_unique(source_names);
  std::vector<std::string> vocab_all = vocabulary_names(source.var().index, context);

  PreprocessPlan plan = plan_preprocessing(source, options.preprocess);
  result.seconds["scan"] = seconds_since(t0);
  auto t1 = std::chrono::steady_clock::now();

  for (auto g : plan.kept_genes) {
    header.genes.push_back(vocab_all[std::size_t(g)]);
    header.source_genes.push_back(source_names[std::size_t(g)]);
  }
  header.gene_n_cells = plan.gene_n_cells;
  header.provenance = {{"source", context},
                       {"preprocessing", options.preprocess.to_json()},
                       {"preprocessing_result", plan.summary()},
                       {"seed", options.seed},
                       {"tie_breaking", "per-cell xoshiro256** shuffle keyed by (seed, source row), then stable "
                                        "sort by decreasing value"},
                       {"c2s_version", C2S_VERSION},
                       {"created", iso_time_now()}};
  for (auto& [k, v] : options.provenance_extra.items()) header.provenance[k] = v;

  DataFrame obs = store_obs(source, plan, options);
  SentenceStoreWriter writer(store_path, header);

  const std::size_t n_kept = plan.kept_cells.size();
  std::vector<std::int64_t> fit_cells = choose_fit_cells(std::int64_t(n_kept), options.fit_sample_cells,
                                                         options.fit_seed);
  std::vector<std::uint8_t> in_fit(n_kept, 0);
  for (auto k : fit_cells) in_fit[std::size_t(k)] = 1;

  // Kept-cell position of each source row (-1 = dropped).
  std::vector<std::int64_t> kept_index(std::size_t(source.n_rows()), -1);
  for (std::size_t k = 0; k < n_kept; ++k) kept_index[std::size_t(plan.kept_cells[k])] = std::int64_t(k);

  const auto& cell_names = source.obs().index;
  auto& pool = ThreadPool::global();
  Progress progress("convert", std::uint64_t(source.n_rows()));
  // Buffers live across blocks (no fresh allocation and page faults per
  // block), two sets: one being filled while the other is being written.
  std::vector<CellBlock> part_sets[2];
  std::vector<RankRuns> point_sets[2];
  std::future<void> writing;
  int set = 0;
  RowBlockReader reader(source, options.preprocess.block_rows);
  while (const SparseRows* next = reader.next()) {
    const SparseRows& rows = *next;
    const std::int64_t begin = rows.first_row, n = rows.n_rows();
    std::size_t n_tasks = std::size_t((n + kRowsPerTask - 1) / kRowsPerTask);
    auto& parts = part_sets[set];
    auto& points = point_sets[set];
    set = 1 - set;
    parts.resize(std::max(parts.size(), n_tasks));
    points.assign(n_tasks, RankRuns{});
    pool.parallel_for(n_tasks, [&](std::size_t t) {
      std::int64_t r0 = std::int64_t(t) * kRowsPerTask, r1 = std::min(n, r0 + kRowsPerTask);
      CellBlock& part = parts[t];
      part.clear();
      thread_local std::vector<std::uint32_t> genes;
      thread_local std::vector<float> raw;
      for (std::int64_t r = r0; r < r1; ++r) {
        std::int64_t k = kept_index[std::size_t(begin + r)];
        if (k < 0) continue;
        genes.clear();
        raw.clear();
        for (std::int64_t e = rows.indptr[r]; e < rows.indptr[r + 1]; ++e) {
          float v = rows.values[std::size_t(e)];
          std::int32_t g = plan.gene_position[std::size_t(rows.indices[e])];
          if (v > 0 && g >= 0) {
            genes.push_back(std::uint32_t(g));
            raw.push_back(v);
          }
        }
        // Normalisation is monotone within a cell: rank on the raw values,
        // straight into the part, then normalise once per run of equal values.
        const std::size_t first = part.genes.size(), n_genes = genes.size();
        part.genes.resize(first + n_genes);
        part.values.resize(first + n_genes);
        float* out = part.values.data() + first;
        rank_cell(genes.data(), raw.data(), n_genes, options.seed, std::uint64_t(begin + r), part.genes.data() + first,
                  out);
        for (std::size_t i = 0; i < n_genes;) {
          std::size_t j = i + 1;
          while (j < n_genes && out[j] == out[i]) ++j;
          std::fill(out + i, out + j, float(plan.normalise(out[i], std::size_t(k))));
          i = j;
        }
        if (in_fit[std::size_t(k)]) points[t].add_cell(out, n_genes);
        part.offsets.push_back(std::int64_t(part.genes.size()));
        part.names.push_back(cell_names[std::size_t(begin + r)]);
      }
    });
    // Written on another thread while the next block is ranked.
    if (writing.valid()) writing.get();
    writing = std::async(std::launch::async, [&, n_tasks] {
      for (std::size_t t = 0; t < n_tasks; ++t) {
        writer.append(parts[t]);
        result.fit_points.append(points[t]);
      }
    });
    progress.advance(std::uint64_t(n));
  }
  if (writing.valid()) writing.get();
  progress.finish();
  result.seconds["convert"] = seconds_since(t1);

  auto t2 = std::chrono::steady_clock::now();
  result.model = fit_inverse_model(result.fit_points);
  result.seconds["inverse_fit"] = seconds_since(t2);
  writer.set_obs(obs);
  writer.set_inverse_model(result.model);
  writer.commit();

  result.preprocessing = plan.summary();
  result.cells = std::int64_t(n_kept);
  result.genes = std::int64_t(plan.kept_genes.size());
  result.entries = plan.nnz_kept;
  result.seconds["total"] = seconds_since(t0);
  return result;
}

}  // namespace c2s
