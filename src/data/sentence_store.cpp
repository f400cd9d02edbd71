#include "data/sentence_store.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <type_traits>
#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "io/anndata_dataframe.hpp"
#include "io/hdf5_file.hpp"

namespace c2s {

namespace {
constexpr const char* kFormat = "c2s-sentence-store";
constexpr int kFormatVersion = 1;
constexpr std::int64_t kChunk = 1 << 20;

void write_json_attribute(hid_t obj, const std::string& name, const nlohmann::json& j) {
  h5::write_string_attribute(obj, name, j.dump());
}

nlohmann::json read_json_attribute(hid_t obj, const std::string& name, const std::string& context) {
  try {
    return nlohmann::json::parse(h5::read_string_attribute(obj, name));
  } catch (const nlohmann::json::exception& e) {
    throw Error(context, "attribute '" + name + "' is not valid JSON");
  }
}
}  // namespace

// ---------------------------------------------------------------- writer

struct SentenceStoreWriter::Impl {
  AtomicOutput output;
  StoreHeader header;
  h5::Handle file, cells_group;
  std::unique_ptr<h5::Appender> offsets, genes, run_offsets, run_values, run_lengths;
  std::vector<std::string> names;
  DataFrame obs;
  bool has_obs = false;
  std::optional<InverseModel> model;
  std::int64_t entries = 0, runs = 0;
  // Appends are staged and written in large pieces: conversion appends many
  // small blocks, and each HDF5 append (extend + write) has a fixed cost.
  BlockVector<std::uint16_t> stage_genes16;
  BlockVector<std::uint32_t> stage_genes32;
  std::vector<std::int64_t> stage_offsets, stage_run_offsets;
  BlockVector<float> stage_run_values;
  BlockVector<std::uint32_t> stage_run_lengths;

  bool tables_written = false;

  void flush_genes() {
    genes->append(stage_genes16.data(), std::int64_t(stage_genes16.size()));
    genes->append(stage_genes32.data(), std::int64_t(stage_genes32.size()));
    stage_genes16.clear();
    stage_genes32.clear();
  }
  void flush() {
    flush_genes();
    offsets->append(stage_offsets.data(), std::int64_t(stage_offsets.size()));
    run_offsets->append(stage_run_offsets.data(), std::int64_t(stage_run_offsets.size()));
    run_values->append(stage_run_values.data(), std::int64_t(stage_run_values.size()));
    run_lengths->append(stage_run_lengths.data(), std::int64_t(stage_run_lengths.size()));
    stage_offsets.clear();
    stage_run_offsets.clear();
    stage_run_values.clear();
    stage_run_lengths.clear();
  }

  Impl(const std::string& path, StoreHeader h) : output(path), header(std::move(h)) {
    file = h5::create_file(output.temp_path().string());
    cells_group = h5::create_group(file, "cells");
    hid_t gene_type = header.genes.size() <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
    offsets = std::make_unique<h5::Appender>(cells_group, "offsets", H5T_STD_I64LE, 1 << 16);
    genes = std::make_unique<h5::Appender>(cells_group, "genes", gene_type, kChunk);
    // Values are non-increasing within a cell and repeat (counts): stored
    // as runs of equal values.
    run_offsets = std::make_unique<h5::Appender>(cells_group, "run_offsets", H5T_STD_I64LE, 1 << 16);
    run_values = std::make_unique<h5::Appender>(cells_group, "run_values", H5T_IEEE_F32LE, 1 << 18);
    run_lengths = std::make_unique<h5::Appender>(cells_group, "run_lengths", H5T_STD_U32LE, 1 << 18);
    std::int64_t zero = 0;
    offsets->append(&zero, 1);
    run_offsets->append(&zero, 1);
  }
};

SentenceStoreWriter::SentenceStoreWriter(const std::string& path, StoreHeader header)
    : impl_(std::make_unique<Impl>(path, std::move(header))) {}

SentenceStoreWriter::~SentenceStoreWriter() = default;

void SentenceStoreWriter::append(const CellBlock& block) { append_block(block); }
void SentenceStoreWriter::append(const NarrowCellBlock& block) { append_block(block); }

template <class Gene>
void SentenceStoreWriter::append_block(const BasicCellBlock<Gene>& block) {
  auto& m = *impl_;
  const std::string& target = m.output.target().string();
  const std::size_t n = block.size();
  if (block.names.size() != n || block.run_offsets.size() != n + 1 ||
      block.genes.size() != std::size_t(block.offsets.back()) ||
      block.run_values.size() != std::size_t(block.run_offsets.back()) ||
      block.run_lengths.size() != block.run_values.size())
    throw Error(target, "malformed cell block");
  for (std::size_t c = 0; c < n; ++c) {
    std::int64_t covered = 0;
    for (std::int64_t r = block.run_offsets[c]; r < block.run_offsets[c + 1]; ++r) {
      covered += block.run_lengths[std::size_t(r)];
      if (r > block.run_offsets[c] && !(block.run_values[std::size_t(r)] <= block.run_values[std::size_t(r - 1)]))
        throw Error(target, "values of cell '" + block.names[c] + "' increase along its sentence");
    }
    if (covered != block.offsets[c + 1] - block.offsets[c])
      throw Error(target, "value runs of cell '" + block.names[c] + "' do not cover its genes");
  }
  // Gene indices checked and, for vocabularies up to 65536 genes, narrowed
  // here rather than by HDF5's conversion, which runs under the library's
  // global lock.
  const auto n_genes = std::uint32_t(m.header.genes.size());
  std::uint32_t largest = 0;
  for (auto g : block.genes) largest = std::max<std::uint32_t>(largest, g);
  if (!block.genes.empty() && largest >= n_genes)
    throw Error(target, fmt::format("gene index {} out of range ({} genes)", largest, n_genes));
  // A large block already in the stored width goes to the file as it is.
  constexpr bool narrow = std::is_same_v<Gene, std::uint16_t>;
  if (block.genes.size() >= (std::size_t(1) << 16) && narrow == (n_genes <= 65536)) {
    m.flush_genes();
    m.genes->append(block.genes.data(), std::int64_t(block.genes.size()));
  } else if (n_genes <= 65536) {
    m.stage_genes16.insert(m.stage_genes16.end(), block.genes.begin(), block.genes.end());
  } else {
    m.stage_genes32.insert(m.stage_genes32.end(), block.genes.begin(), block.genes.end());
  }
  for (std::size_t i = 0; i < n; ++i) {
    m.stage_offsets.push_back(m.entries + block.offsets[i + 1]);
    m.stage_run_offsets.push_back(m.runs + block.run_offsets[i + 1]);
  }
  m.stage_run_values.insert(m.stage_run_values.end(), block.run_values.begin(), block.run_values.end());
  m.stage_run_lengths.insert(m.stage_run_lengths.end(), block.run_lengths.begin(), block.run_lengths.end());
  m.entries += block.offsets.back();
  m.runs += block.run_offsets.back();
  m.names.insert(m.names.end(), block.names.begin(), block.names.end());
  if (m.stage_genes16.size() + m.stage_genes32.size() >= (std::size_t(1) << 22) ||
      m.stage_offsets.size() >= (std::size_t(1) << 16))
    m.flush();
}

void SentenceStoreWriter::set_obs(const DataFrame& obs) {
  impl_->obs = obs;
  impl_->has_obs = true;
}

void SentenceStoreWriter::set_inverse_model(const InverseModel& model) { impl_->model = model; }

void SentenceStoreWriter::write_tables() {
  auto& m = *impl_;
  if (m.tables_written) return;
  const std::string target = m.output.target().string();
  if (m.header.gene_n_cells.size() != m.header.genes.size())
    throw Error(target, "gene counts and vocabulary differ in length");
  if (m.header.source_genes.empty()) m.header.source_genes = m.header.genes;
  m.flush();
  m.offsets.reset();
  m.genes.reset();
  m.run_offsets.reset();
  m.run_values.reset();
  m.run_lengths.reset();
  m.cells_group.reset();

  h5::Handle genes = h5::create_group(m.file, "genes");
  h5::write_strings(genes, "names", m.header.genes);
  h5::write_strings(genes, "source_names", m.header.source_genes);
  h5::write_vector(genes, "n_cells", m.header.gene_n_cells, true);

  DataFrame obs = m.obs;
  if (!m.has_obs) obs.index = m.names;
  if (obs.index.size() != m.names.size()) throw Error(target, "obs rows differ from cells written");
  obs.index = m.names;
  write_anndata_dataframe(m.file, "obs", obs);
  m.tables_written = true;
}

void SentenceStoreWriter::commit() {
  write_tables();
  auto& m = *impl_;
  h5::write_string_attribute(m.file, "format", kFormat);
  h5::write_number_attribute(m.file, "format_version", kFormatVersion);
  write_json_attribute(m.file, "provenance", m.header.provenance);
  if (m.model) write_json_attribute(m.file, "inverse_model", m.model->to_json());
  m.file.reset();
  m.output.commit();
}

// ---------------------------------------------------------------- reader

struct SentenceStore::Impl {
  std::string path;
  h5::Handle file, genes_ds, run_values_ds, run_lengths_ds;
  StoreHeader header;
  std::vector<std::int64_t> offsets, run_offsets;
  std::vector<std::string> names;
  DataFrame obs;
  std::optional<InverseModel> model;
};

SentenceStore::SentenceStore(const std::string& path) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.path = path;
  m.file = h5::open_file(path);
  if (!h5::has_attribute(m.file, "format") || h5::read_string_attribute(m.file, "format") != kFormat)
    throw Error(path, "not a c2s sentence store (make one with `c2s convert`)");
  int version = int(h5::read_number_attribute(m.file, "format_version"));
  if (version > kFormatVersion)
    throw Error(path, fmt::format("sentence store format {} is newer than this c2s understands ({})", version,
                                  kFormatVersion));
  h5::Handle genes = h5::open_group(m.file, "genes");
  m.header.genes = h5::read_strings(h5::open_dataset(genes, "names"));
  m.header.source_genes = h5::read_strings(h5::open_dataset(genes, "source_names"));
  m.header.gene_n_cells = h5::read_vector<std::int64_t>(h5::open_dataset(genes, "n_cells"));
  m.header.provenance = read_json_attribute(m.file, "provenance", path);
  if (h5::has_attribute(m.file, "inverse_model"))
    m.model = InverseModel::from_json(read_json_attribute(m.file, "inverse_model", path));
  h5::Handle cells = h5::open_group(m.file, "cells");
  m.offsets = h5::read_vector<std::int64_t>(h5::open_dataset(cells, "offsets"));
  m.genes_ds = h5::open_dataset(cells, "genes");
  m.run_offsets = h5::read_vector<std::int64_t>(h5::open_dataset(cells, "run_offsets"));
  m.run_values_ds = h5::open_dataset(cells, "run_values");
  m.run_lengths_ds = h5::open_dataset(cells, "run_lengths");
  // Cell names are the obs index (one copy in the file).
  m.obs = read_anndata_dataframe(m.file, "obs");
  m.names = m.obs.index;
  if (m.offsets.empty() || m.offsets.size() != m.names.size() + 1 || m.offsets[0] != 0 ||
      m.obs.n_rows() != m.names.size() || m.header.gene_n_cells.size() != m.header.genes.size() ||
      h5::shape(m.genes_ds).at(0) != m.offsets.back() || m.run_offsets.size() != m.offsets.size() ||
      h5::shape(m.run_values_ds).at(0) != m.run_offsets.back() ||
      h5::shape(m.run_lengths_ds).at(0) != m.run_offsets.back())
    throw Error(path, "inconsistent sentence store (truncated or corrupt)");
  for (std::size_t i = 1; i < m.offsets.size(); ++i)
    if (m.offsets[i] < m.offsets[i - 1] || m.run_offsets[i] < m.run_offsets[i - 1])
      throw Error(path, "inconsistent sentence store offsets");
}

SentenceStore::~SentenceStore() = default;
SentenceStore::SentenceStore(SentenceStore&&) noexcept = default;

const std::string& SentenceStore::path() const { return impl_->path; }
std::int64_t SentenceStore::n_cells() const { return std::int64_t(impl_->names.size()); }
std::int64_t SentenceStore::n_genes() const { return std::int64_t(impl_->header.genes.size()); }
std::int64_t SentenceStore::n_entries() const { return impl_->offsets.back(); }
const StoreHeader& SentenceStore::header() const { return impl_->header; }
const std::vector<std::string>& SentenceStore::cell_names() const { return impl_->names; }
const DataFrame& SentenceStore::obs() const { return impl_->obs; }
const std::optional<InverseModel>& SentenceStore::inverse_model() const { return impl_->model; }

void SentenceStore::read(std::int64_t begin, std::int64_t end, CellBlock& out) const {
  auto& m = *impl_;
  if (begin < 0 || end > n_cells() || begin > end)
    throw Error(m.path, fmt::format("cells [{}, {}) out of range (store has {})", begin, end, n_cells()));
  out.clear();
  std::int64_t base = m.offsets[std::size_t(begin)], count = m.offsets[std::size_t(end)] - base;
  for (std::int64_t i = begin; i < end; ++i) out.offsets.push_back(m.offsets[std::size_t(i + 1)] - base);
  out.genes.resize(std::size_t(count));
  h5::read_1d(m.genes_ds, H5T_NATIVE_UINT32, base, count, out.genes.data());
  std::int64_t run_base = m.run_offsets[std::size_t(begin)], n_runs = m.run_offsets[std::size_t(end)] - run_base;
  for (std::int64_t i = begin; i < end; ++i) out.run_offsets.push_back(m.run_offsets[std::size_t(i + 1)] - run_base);
  out.run_values.resize(std::size_t(n_runs));
  out.run_lengths.resize(std::size_t(n_runs));
  h5::read_1d(m.run_values_ds, H5T_NATIVE_FLOAT, run_base, n_runs, out.run_values.data());
  h5::read_1d(m.run_lengths_ds, H5T_NATIVE_UINT32, run_base, n_runs, out.run_lengths.data());
  std::int64_t covered = 0;
  for (auto length : out.run_lengths) covered += length;
  if (covered != count) throw Error(m.path, "value runs do not cover the cells (corrupt store)");
  out.names.assign(m.names.begin() + begin, m.names.begin() + end);
  const auto n_genes = std::uint32_t(m.header.genes.size());
  for (auto g : out.genes)
    if (g >= n_genes) throw Error(m.path, "gene index out of range (corrupt store)");
}

void SentenceStore::read_cells(const std::vector<std::int64_t>& cells, CellBlock& out) const {
  out.clear();
  CellBlock one;
  for (auto c : cells) {
    read(c, c + 1, one);
    out.genes.insert(out.genes.end(), one.genes.begin(), one.genes.end());
    out.run_values.insert(out.run_values.end(), one.run_values.begin(), one.run_values.end());
    out.run_lengths.insert(out.run_lengths.end(), one.run_lengths.begin(), one.run_lengths.end());
    out.offsets.push_back(std::int64_t(out.genes.size()));
    out.run_offsets.push_back(std::int64_t(out.run_values.size()));
    out.names.push_back(one.names[0]);
  }
}

std::vector<std::uint8_t> genes_in_sentences(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                             std::int64_t top_k) {
  std::vector<std::uint8_t> seen(std::size_t(store.n_genes()), 0);
  CellBlock block;
  // Runs of consecutive cells are read together, at most 4,096 at a time.
  for (std::size_t i = 0; i < cells.size();) {
    std::size_t j = i + 1;
    while (j < cells.size() && j - i < 4096 && cells[j] == cells[j - 1] + 1) ++j;
    store.read(cells[i], cells[j - 1] + 1, block);
    for (std::size_t c = 0; c < block.size(); ++c) {
      std::int64_t end = block.offsets[c + 1];
      if (top_k > 0) end = std::min(end, block.offsets[c] + top_k);
      for (std::int64_t g = block.offsets[c]; g < end; ++g) seen[block.genes[std::size_t(g)]] = 1;
    }
    i = j;
  }
  return seen;
}

std::string SentenceStore::sentence(std::int64_t cell, std::int64_t top_k) const {
  CellBlock b;
  read(cell, cell + 1, b);
  std::size_t n = b.genes.size();
  if (top_k > 0) n = std::min<std::size_t>(n, std::size_t(top_k));
  return sentence_text({b.genes.data(), n}, impl_->header.genes);
}

std::string sentence_text(std::span<const std::uint32_t> genes, const std::vector<std::string>& vocabulary) {
  std::size_t size = genes.size();
  for (auto g : genes) size += vocabulary[g].size();
  std::string s;
  s.reserve(size);
  for (std::size_t i = 0; i < genes.size(); ++i) {
    if (i) s += ' ';
    s += vocabulary[genes[i]];
  }
  return s;
}

namespace {
// Copies the store beside itself, lets `modify` change the open copy, and
// renames the copy over the original.
void update_store(const std::string& path, const std::function<void(hid_t file)>& modify) {
  AtomicOutput output(path);
  std::error_code ec;
  std::filesystem::copy_file(path, output.temp_path(), ec);
  if (ec) throw Error(path, "cannot copy the store: " + ec.message());
  {
    h5::silence_library_errors();
    h5::Handle file(H5Fopen(output.temp_path().c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    if (!file.valid()) throw Error(path, "cannot open the store for update");
    modify(file);
  }
  output.commit();
}
}  // namespace

void set_store_obs_column(const std::string& path, const Column& column) {
  DataFrame obs;
  {
    SentenceStore store(path);
    obs = store.obs();
    if (column.size() != obs.n_rows()) throw Error(path, "column '" + column.name + "' has the wrong length");
  }
  bool replaced = false;
  for (auto& c : obs.columns)
    if (c.name == column.name) {
      c = column;
      replaced = true;
    }
  if (!replaced) obs.columns.push_back(column);
  update_store(path, [&](hid_t file) {
    if (H5Ldelete(file, "obs", H5P_DEFAULT) < 0) throw Error(path, "cannot replace obs");
    write_anndata_dataframe(file, "obs", obs);
  });
}

void set_store_inverse_model(const std::string& path, const InverseModel& model) {
  { SentenceStore check(path); }
  update_store(path, [&](hid_t file) { write_json_attribute(file, "inverse_model", model.to_json()); });
}

RankRuns store_rank_runs(const SentenceStore& store, const std::vector<std::int64_t>& cells) {
  RankRuns runs;
  CellBlock block;
  // Consecutive runs of cells are read as one block.
  for (std::size_t i = 0; i < cells.size();) {
    std::size_t j = i + 1;
    while (j < cells.size() && cells[j] == cells[j - 1] + 1 && j - i < 4096) ++j;
    store.read(cells[i], cells[j - 1] + 1, block);
    for (std::size_t c = 0; c < block.size(); ++c)
      runs.add_cell(block.run_values.data() + block.run_offsets[c], block.run_lengths.data() + block.run_offsets[c],
                    std::size_t(block.run_offsets[c + 1] - block.run_offsets[c]));
    i = j;
  }
  return runs;
}

}  // namespace c2s
