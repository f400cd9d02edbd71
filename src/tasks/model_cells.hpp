// The cells a model command reads (`--data`): a sentence store as it is, or a
// matrix input (h5ad, 10x, CSV) converted on the fly into a temporary store
// that keeps every row (no cell or gene filter), so that results map back to
// the input's rows. Their sentences are what the model reads: the model's
// top-k of the genes it was trained on (genes it does not know are left out,
// and counted).
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/sentence_store.hpp"
#include "io/matrix_source.hpp"
#include "text/model_task.hpp"

namespace c2s {

class ModelCells {
 public:
  // `work_dir` (which must exist or be creatable): where a converted input's
  // temporary store goes (removed again by the destructor). Errors: an unreadable input, a store or matrix holding
  // fewer than half of the model's genes (another gene set or naming).
  ModelCells(const std::string& data, const ModelTask& task, const std::filesystem::path& work_dir,
             const InputOptions& input = {});

  const SentenceStore& store() const { return *store_; }
  const std::string& input() const { return input_; }
  bool converted() const { return converted_; }  // from a matrix input

  // The split a command works on by default: test when the store is split
  // (and not converted), else all.
  std::string default_split() const;
  // The cells of `split` ("all": every cell), the first `max_cells` (0: all).
  std::vector<std::int64_t> cells(const std::string& split, std::int64_t max_cells = 0) const;
  // Each cell's sentence as the model reads it.
  std::vector<std::string> sentences(const std::vector<std::int64_t>& cells) const;

  // Genes of the input the model knows, genes it does not, whether converted.
  nlohmann::json describe() const;

 private:
  std::string input_;
  bool converted_ = false;
  // A converted input's store, removed when this goes (also when the
  // constructor fails after converting); declared before the store, which
  // closes it first.
  struct TempStore {
    std::filesystem::path path;
    TempStore() = default;
    TempStore(const TempStore&) = delete;
    TempStore& operator=(const TempStore&) = delete;
    ~TempStore();
  } temp_store_;
  std::unique_ptr<SentenceStore> store_;
  std::int64_t top_k_ = 0;
  std::vector<std::uint8_t> known_;  // per store gene
  std::int64_t known_count_ = 0, model_genes_ = 0;
};

}  // namespace c2s
