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

namespace {

// The conversion, with Gene the width of the gene indices held in memory
// between ranking and writing.
template <class Gene>
ConvertResult convert_with(MatrixSource& source, const std::string& store_path, const ConvertOptions& options) {
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

  // One pass over the input: the scan that plans the preprocessing ranks each
  // cell that passes the cell filters as it goes, into `pending`: the
  // sentences with raw-value runs, in source gene indices. Gene filtering
  // and normalisation need the whole pass (cell counts per gene, the median
  // total), so they are applied when the sentences are written. Memory holds
  // the sentences (sizeof(Gene) bytes a gene of a cell), not the matrix.
  std::vector<std::vector<BasicCellBlock<Gene>>> pending;
  const auto& cell_names = source.obs().index;
  ScanHooks hooks;
  hooks.begin_block = [&](const SparseRows& block, std::size_t n_tasks, std::int64_t rows_per_task) {
    // Room for every entry of each task's rows: no reallocation (copies and
    // fresh pages) while ranking.
    auto& parts = pending.emplace_back(n_tasks);
    for (std::size_t t = 0; t < n_tasks; ++t) {
      std::int64_t r0 = std::int64_t(t) * rows_per_task, r1 = std::min(block.n_rows(), r0 + rows_per_task);
      parts[t].genes.reserve(std::size_t(block.indptr[std::size_t(r1)] - block.indptr[std::size_t(r0)]));
    }
  };
  hooks.kept_row = [&](std::size_t task, std::int64_t row, const std::int32_t* indices, const float* values,
                       std::size_t n, std::size_t n_positive) {
    BasicCellBlock<Gene>& part = pending.back()[task];
    // Ranked straight from the stored entries; only a row with explicit
    // zeros (rare) is compacted first. Normalisation is monotone within a
    // cell, so the raw values rank the same.
    const auto* genes = reinterpret_cast<const std::uint32_t*>(indices);  // checked non-negative by the reader
    const float* raw = values;
    if (n_positive != n) {
      thread_local std::vector<std::uint32_t> kept_genes;
      thread_local std::vector<float> kept_values;
      kept_genes.resize(n);
      kept_values.resize(n);
      std::size_t k = 0;
      for (std::size_t e = 0; e < n; ++e) {
        kept_genes[k] = std::uint32_t(indices[e]);
        kept_values[k] = values[e];
        k += values[e] > 0;
      }
      genes = kept_genes.data();
      raw = kept_values.data();
    }
    const std::size_t first = part.genes.size();
    part.genes.resize(first + n_positive);
    rank_cell(genes, raw, n_positive, options.seed, std::uint64_t(row), part.genes.data() + first, part.run_values,
              part.run_lengths);
    part.offsets.push_back(std::int64_t(part.genes.size()));
    part.run_offsets.push_back(std::int64_t(part.run_values.size()));
    part.names.push_back(cell_names[std::size_t(row)]);
  };
  PreprocessPlan plan = plan_preprocessing(source, options.preprocess, hooks);
  result.seconds["read_and_rank"] = seconds_since(t0);
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
                       {"tie_breaking", "random order within equal values, from a xoshiro256** stream keyed by "
                                        "(seed, source row)"},
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
  const bool genes_dropped = plan.genes_below_min_cells > 0;

  // Finish each part in place (kept gene indices, dropped genes removed from
  // genes and runs, normalised run values), then write it; a block is
  // written on another thread while the next one is finished.
  auto& pool = ThreadPool::global();
  Progress progress("write", std::uint64_t(n_kept));
  std::future<void> writing;
  std::vector<RankRuns> point_sets[2];
  int set = 0;
  std::size_t kept_before = 0;
  for (auto& parts : pending) {
    std::vector<std::size_t> part_base(parts.size());
    for (std::size_t t = 0; t < parts.size(); ++t) {
      part_base[t] = kept_before;
      kept_before += parts[t].size();
    }
    auto& points = point_sets[set];
    set = 1 - set;
    points.assign(parts.size(), RankRuns{});
    pool.parallel_for(parts.size(), [&](std::size_t t) {
      BasicCellBlock<Gene>& part = parts[t];
      // Positions in the part as built (g, r) and as compacted (g_out,
      // r_out); offsets are overwritten behind the reading position.
      std::int64_t g = 0, r = 0, g_out = 0, r_out = 0;
      for (std::size_t c = 0; c < part.size(); ++c) {
        const std::size_t k = part_base[t] + c;
        const std::int64_t first_run = r_out, r_end = part.run_offsets[c + 1];
        for (; r < r_end; ++r) {
          std::uint32_t kept = part.run_lengths[std::size_t(r)];
          if (genes_dropped) {
            kept = 0;
            for (std::uint32_t i = 0; i < part.run_lengths[std::size_t(r)]; ++i, ++g) {
              std::int32_t position = plan.gene_position[part.genes[std::size_t(g)]];
              if (position >= 0) part.genes[std::size_t(g_out + kept++)] = Gene(position);
            }
          } else {
            g += kept;  // every gene kept: source and kept indices agree
          }
          g_out += kept;
          if (kept == 0) continue;
          part.run_values[std::size_t(r_out)] = float(plan.normalise(part.run_values[std::size_t(r)], k));
          part.run_lengths[std::size_t(r_out)] = kept;
          ++r_out;
        }
        part.offsets[c + 1] = g_out;
        part.run_offsets[c + 1] = r_out;
        if (in_fit[k])
          points[t].add_cell(part.run_values.data() + first_run, part.run_lengths.data() + first_run,
                             std::size_t(r_out - first_run));
      }
      part.genes.resize(std::size_t(g_out));
      part.run_values.resize(std::size_t(r_out));
      part.run_lengths.resize(std::size_t(r_out));
    });
    if (writing.valid()) writing.get();
    writing = std::async(std::launch::async, [&] {
      for (std::size_t t = 0; t < parts.size(); ++t) {
        writer.append(parts[t]);
        result.fit_points.append(points[t]);
        progress.advance(parts[t].size());
        BasicCellBlock<Gene>().genes.swap(parts[t].genes);  // release the block's memory once written
      }
    });
  }
  if (writing.valid()) writing.get();
  if (kept_before != n_kept) throw Error(context, "internal error: cells ranked differ from cells kept");
  progress.finish();
  result.seconds["write"] = seconds_since(t1);

  // The fit runs while this thread writes the gene and obs tables.
  auto t2 = std::chrono::steady_clock::now();
  auto fit = std::async(std::launch::async, [&] {
    InverseModel model = fit_inverse_model(result.fit_points);
    result.seconds["inverse_fit"] = seconds_since(t2);
    return model;
  });
  writer.set_obs(obs);
  writer.write_tables();
  result.model = fit.get();
  writer.set_inverse_model(result.model);
  writer.commit();
  result.seconds["finish_store"] = seconds_since(t2);

  result.preprocessing = plan.summary();
  result.cells = std::int64_t(n_kept);
  result.genes = std::int64_t(plan.kept_genes.size());
  result.entries = plan.nnz_kept;
  result.seconds["total"] = seconds_since(t0);
  return result;
}

}  // namespace

ConvertResult convert_to_store(MatrixSource& source, const std::string& store_path, const ConvertOptions& options) {
  // Up to 65536 genes, 2 bytes per gene of a cell instead of 4: half the
  // memory (and the fresh pages) that the ranked cells take until written.
  if (source.n_cols() <= 65536) return convert_with<std::uint16_t>(source, store_path, options);
  return convert_with<std::uint32_t>(source, store_path, options);
}

}  // namespace c2s
