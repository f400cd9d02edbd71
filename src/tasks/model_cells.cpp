#include "tasks/model_cells.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/conversion.hpp"
#include "data/store_split.hpp"
#include "text/prompt_examples.hpp"

namespace c2s {

namespace fs = std::filesystem;

ModelCells::ModelCells(const std::string& data, const ModelTask& task, const fs::path& work_dir,
                       const InputOptions& input)
    : input_(data), top_k_(task.top_k) {
  if (is_matrix_input(data)) {
    auto source = open_matrix(data, input);
    ConvertOptions convert;
    convert.preprocess.min_genes = 0;  // every row keeps its place
    convert.preprocess.min_cells = 0;
    std::error_code ec;
    fs::create_directories(work_dir, ec);
    const fs::path path = work_dir / (".c2s-input-cells-" + std::to_string(::getpid()) + ".c2s");
    Progress::note("converting " + data + " to cell sentences");
    convert_to_store(*source, path.string(), convert);
    temp_store_.path = path;
    converted_ = true;
    store_ = std::make_unique<SentenceStore>(path.string());
  } else {
    store_ = std::make_unique<SentenceStore>(data);
  }
  // A model without a gene list (fine-tuned from a text model): all words pass.
  known_ = check_store_genes(task, *store_, data);
  known_count_ = std::count(known_.begin(), known_.end(), std::uint8_t(1));
  model_genes_ = std::int64_t(task.genes.size());
}

ModelCells::TempStore::~TempStore() {
  std::error_code ec;
  if (!path.empty()) fs::remove(path, ec);
}

std::string ModelCells::default_split() const {
  return !converted_ && store_->obs().find("split") ? "test" : "all";
}

std::vector<std::int64_t> ModelCells::cells(const std::string& split, std::int64_t max_cells) const {
  std::vector<std::int64_t> out;
  if (split == "all") {
    for (std::int64_t i = 0; i < store_->n_cells(); ++i) out.push_back(i);
  } else {
    out = cells_in_split(*store_, split);
  }
  if (max_cells > 0 && std::int64_t(out.size()) > max_cells) out.resize(std::size_t(max_cells));
  return out;
}

std::vector<std::string> ModelCells::sentences(const std::vector<std::int64_t>& cells) const {
  StoreSentences loaded;
  loaded.load(*store_, cells, top_k_, false, &known_);
  std::vector<std::string> out;
  out.reserve(cells.size());
  for (std::int64_t c : cells) out.push_back(loaded.sentence(c));
  return out;
}

nlohmann::json ModelCells::describe() const {
  nlohmann::json j = {{"input", input_},
                      {"converted", converted_},
                      {"genes", store_->genes().size()},
                      {"genes_known_to_model", known_count_}};
  if (model_genes_ > 0) j["model_genes"] = model_genes_;
  return j;
}

}  // namespace c2s
