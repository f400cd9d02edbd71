#include "data/sentence_export.hpp"

#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

namespace {

std::string json_string(const std::string& s) { return nlohmann::json(s).dump(); }

// One column's value for a cell as a JSON fragment.
std::string json_value(const Column& c, std::size_t i) {
  switch (c.kind) {
    case Column::Kind::Numeric: {
      double v = c.numbers[i];
      if (!std::isfinite(v)) return "null";
      return nlohmann::json(v).dump();
    }
    case Column::Kind::Boolean:
      return c.booleans[i] ? "true" : "false";
    case Column::Kind::Categorical:
      return c.codes[i] < 0 ? "null" : json_string(c.categories[std::size_t(c.codes[i])]);
    case Column::Kind::String:
      return json_string(c.strings[i]);
  }
  return "null";
}

}  // namespace

std::int64_t export_sentences(const SentenceStore& store, const std::string& path, const ExportOptions& options) {
  const DataFrame& obs = store.obs();
  std::vector<const Column*> columns;
  if (options.columns.empty()) {
    for (const auto& c : obs.columns) columns.push_back(&c);
  } else {
    for (const auto& name : options.columns) {
      const Column* c = obs.find(name);
      if (!c) throw UsageError(store.path(), "no obs column '" + name + "'");
      columns.push_back(c);
    }
  }
  std::vector<std::uint8_t> selected(std::size_t(store.n_cells()), 1);
  if (options.split) {
    const Column* split = obs.find("split");
    if (!split) throw UsageError(store.path(), "the store has no split yet (run `c2s split` first)");
    for (std::size_t i = 0; i < selected.size(); ++i) selected[i] = split->text(i) == *options.split;
  }
  const bool jsonl = options.format == ExportOptions::Format::Jsonl;
  // Genes are escaped once, not once per occurrence.
  std::vector<std::string> words;
  for (const auto& gname : store.genes()) {
    std::string q = jsonl ? json_string(gname) : gname;
    words.push_back(jsonl ? q.substr(1, q.size() - 2) : q);
  }
  std::vector<std::string> keys;
  for (const Column* c : columns) keys.push_back(json_string(c->name));

  AtomicTextFile out(path);
  std::int64_t written = 0;
  {
    Progress progress("export", std::uint64_t(store.n_cells()));
    CellBlock block;
    constexpr std::int64_t kBlock = 4096;
    for (std::int64_t begin = 0; begin < store.n_cells(); begin += kBlock) {
      std::int64_t end = std::min(store.n_cells(), begin + kBlock);
      store.read(begin, end, block);
      std::vector<std::string> lines(block.size());
      ThreadPool::global().parallel_for(block.size(), [&](std::size_t i) {
        std::size_t cell = std::size_t(begin) + i;
        if (!selected[cell]) return;
        std::int64_t a = block.offsets[i], b = block.offsets[i + 1];
        if (options.top_k > 0) b = std::min(b, a + options.top_k);
        std::string& line = lines[i];
        if (jsonl) line = "{\"cell_name\":" + json_string(block.names[i]) + ",\"cell_sentence\":\"";
        for (std::int64_t e = a; e < b; ++e) {
          if (e > a) line += ' ';
          line += words[block.genes[std::size_t(e)]];
        }
        if (jsonl) {
          line += '"';
          for (std::size_t c = 0; c < columns.size(); ++c) line += "," + keys[c] + ":" + json_value(*columns[c], cell);
          line += '}';
        }
        line += '\n';
      });
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!selected[std::size_t(begin) + i]) continue;
        out.write(lines[i]);
        ++written;
      }
      progress.advance(std::uint64_t(end - begin));
    }
    progress.finish();
  }
  out.commit();
  return written;
}

}  // namespace c2s
