// `c2s reconstruct STORE -o OUT.h5ad [--sentences FILE]`: expression from
// sentences, stored or generated.
#include <map>
#include <string_view>

#include "cli/command_context.hpp"
#include "core/error.hpp"
#include "data/reconstruction.hpp"
#include "io/line_reader.hpp"

namespace c2s {

namespace {

// Sentences from a .jsonl (field cell_sentence, else sentence or response;
// cell_name and other string/number fields become obs) or plain lines.
void read_sentences(const std::string& path, std::vector<std::string>& sentences, DataFrame& obs) {
  LineReader reader(path);
  const bool jsonl = path.ends_with(".jsonl") || path.ends_with(".json");
  std::map<std::string, Column> columns;
  std::vector<std::string> order;
  std::string_view line;
  while (reader.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::size_t row = sentences.size();
    if (!jsonl) {
      sentences.emplace_back(line);
      obs.index.push_back("cell_" + std::to_string(row));
      continue;
    }
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(reader.where(), "not valid JSON");
    }
    if (!j.is_object()) throw Error(reader.where(), "expected a JSON object per line");
    std::string key = j.contains("cell_sentence") ? "cell_sentence" : j.contains("sentence") ? "sentence" : "response";
    if (!j.contains(key) || !j[key].is_string())
      throw Error(reader.where(), "no string field cell_sentence, sentence or response");
    sentences.push_back(j[key].get<std::string>());
    obs.index.push_back(j.contains("cell_name") && j["cell_name"].is_string() ? j["cell_name"].get<std::string>()
                                                                                : "cell_" + std::to_string(row));
    for (auto& [k, v] : j.items()) {
      if (k == key || k == "cell_name" || !(v.is_string() || v.is_number())) continue;
      if (!columns.count(k)) {
        order.push_back(k);
        columns[k] = Column{.name = k, .kind = Column::Kind::String};
      }
      Column& c = columns[k];
      c.strings.resize(row, "");
      c.strings.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  for (const auto& k : order) {
    Column& c = columns[k];
    c.strings.resize(sentences.size(), "");
    obs.columns.push_back(c.as_categorical());
  }
  if (sentences.empty()) throw Error(path, "no sentences in the file");
}

}  // namespace

void add_reconstruct_command(CommandSet& set) {
  struct Args {
    std::string store, output, sentences;
    std::int64_t top_k = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("reconstruct", "Turn sentences back into expression (h5ad) with the inverse model");
  cmd->add_option("store", args->store, "Sentence store (vocabulary, inverse model; and the cells without --sentences)")
      ->required();
  cmd->add_option("-o,--output", args->output, "Output .h5ad")->required();
  cmd->add_option("--sentences", args->sentences, "Text sentences instead of the stored cells (.jsonl or one per line)");
  cmd->add_option("--top-k", args->top_k, "Stored cells: use only their first K genes")->check(CLI::NonNegativeNumber);
  set.add(cmd, [args, &g = set.global] {
    SentenceStore store(args->store);
    if (args->sentences.empty()) {
      emit_summary(g, reconstruct_store(store, args->output, {.top_k = args->top_k}));
      return;
    }
    if (!store.inverse_model()) throw Error(store.path(), "the store has no inverse model (run `c2s inverse fit`)");
    std::vector<std::string> sentences;
    DataFrame obs;
    read_sentences(args->sentences, sentences, obs);
    emit_summary(g, reconstruct_sentences(sentences, obs, store.genes(), store.header().gene_n_cells,
                                          *store.inverse_model(), args->output));
  });
}

}  // namespace c2s
