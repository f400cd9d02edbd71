// `c2s generate-cells` and `c2s evaluate-generation` run as a user would, on
// a tiny model trained for cell_type_generation on a simulated split store:
// constrained cells (read back: only store genes, none twice), free cells
// cleaned as the reference does, seeded sampling, the evaluation's files
// and figures, and bad input refused in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli_runner.hpp"
#include "data/sentence_store.hpp"
#include "io/matrix_source.hpp"

namespace c2s {
namespace {

using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

fs::path dir() { return process_dir("c2s_generate_cli"); }

// 4 well separated simulated cell types, split by cells, and a tiny model
// trained briefly to write their top-20 sentences (once per test process).
// What is tested here holds for any model; how good a model gets is
// measured in docs/RESULTS.md.
const TrainedOnSimulated& trained() {
  static const TrainedOnSimulated t = train_on_simulated(
      dir(), "-n 400 --genes 300 --cell-types 4 --seed 5", "",
      "--threads 1 train --init tiny --task cell_type_generation --top-k 20 --batch-size 8 --lr 3e-3 --max-steps 16 "
      "--warmup-steps 4 --eval-every 1000",
      "checkpoint-last");
  return t;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

struct GeneratedFile {
  std::vector<std::string> types, sentences, texts, var;
  std::vector<double> genes, unknown, duplicates;
  std::vector<std::size_t> nonzero;
};
GeneratedFile read_generated(const fs::path& h5ad, const std::string& label_column = "cell_type") {
  auto m = open_matrix(h5ad.string());
  GeneratedFile f;
  auto strings = [&](const std::string& name) {
    std::vector<std::string> v;
    const Column* c = m->obs().find(name);
    EXPECT_TRUE(c) << name;
    if (c)
      for (std::size_t i = 0; i < c->size(); ++i) v.push_back(c->text(i));
    return v;
  };
  auto numbers = [&](const std::string& name) {
    const Column* c = m->obs().find(name);
    EXPECT_TRUE(c && c->kind == Column::Kind::Numeric) << name;
    return c ? c->numbers : std::vector<double>{};
  };
  f.types = strings(label_column);
  f.sentences = strings("c2s_sentence");
  f.texts = strings("c2s_text");
  f.genes = numbers("c2s_genes");
  f.unknown = numbers("c2s_unknown_words");
  f.duplicates = numbers("c2s_duplicate_genes");
  f.var = m->var().index;
  SparseRows rows;
  m->read_rows(0, m->n_rows(), rows);
  for (std::int64_t r = 0; r < rows.n_rows(); ++r) {
    const auto v = rows.row_values(r);
    f.nonzero.push_back(std::size_t(std::count_if(v.begin(), v.end(), [](float x) { return x > 0; })));
  }
  return f;
}

TEST(GenerateCellsCli, ConstrainedCellsHoldOnlyStoreGenesEachOnce) {
  const TrainedOnSimulated& t = trained();
  const fs::path out = dir() / "constrained.h5ad";
  const json s = run_json("--threads 1 generate-cells --model " + t.model + " --data " + t.store +
                          " --all-types -n 6 --genes 15 --seed 7 -o " + out.string());
  EXPECT_EQ(s["mode"], "constrained");
  EXPECT_EQ(s["cells"], 24);
  ASSERT_EQ(s["cells_per_type"].size(), 4u);
  for (const auto& [type, n] : s["cells_per_type"].items()) EXPECT_EQ(n, 6) << type;
  EXPECT_EQ(s["genes_requested"], 15);
  EXPECT_LE(s["genes_per_cell"]["max"].get<int>(), 15);
  EXPECT_GE(s["genes_per_cell"]["min"].get<int>(), 1);
  EXPECT_EQ(s["genes_left_out"], 0);
  EXPECT_EQ(s["token_budget"], 15 + 1 + 1);  // one token per gene, ".", EOS

  const SentenceStore store(t.store);
  const std::set<std::string> genes(store.genes().begin(), store.genes().end());
  const GeneratedFile f = read_generated(out);
  ASSERT_EQ(f.sentences.size(), 24u);
  EXPECT_EQ(f.var, store.genes());
  std::set<std::string> distinct_sentences;
  for (std::size_t i = 0; i < f.sentences.size(); ++i) {
    const auto w = words(f.sentences[i]);
    ASSERT_FALSE(w.empty()) << i;
    EXPECT_LE(w.size(), 15u);
    EXPECT_EQ(std::set<std::string>(w.begin(), w.end()).size(), w.size()) << "repeated gene: " << f.sentences[i];
    for (const auto& g : w) EXPECT_TRUE(genes.count(g)) << "not a gene: " << g;
    // The text as generated is the sentence itself, closed by its period:
    // no other word was written.
    EXPECT_TRUE(f.texts[i] == f.sentences[i] || f.texts[i] == f.sentences[i] + ".") << f.texts[i];
    EXPECT_EQ(f.genes[i], double(w.size()));
    EXPECT_EQ(f.unknown[i], 0);
    EXPECT_EQ(f.duplicates[i], 0);
    EXPECT_EQ(f.nonzero[i], w.size());  // each gene reconstructed at its rank
    distinct_sentences.insert(f.sentences[i]);
  }
  // Sampled: the cells of a type differ.
  EXPECT_GT(distinct_sentences.size(), 20u);
  // Types in blocks of 6, in sorted order.
  std::vector<std::string> types = f.types;
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));

  // The same seed gives the same cells, for any batch size; another seed others.
  const fs::path again = dir() / "again.h5ad", other = dir() / "other.h5ad";
  run_json("--threads 1 generate-cells --model " + t.model + " --data " + t.store +
           " --all-types -n 6 --genes 15 --seed 7 --batch-size 5 -o " + again.string());
  EXPECT_EQ(read_generated(again).sentences, f.sentences);
  run_json("--threads 1 generate-cells --model " + t.model + " --data " + t.store +
           " --all-types -n 6 --genes 15 --seed 8 -o " + other.string());
  EXPECT_NE(read_generated(other).sentences, f.sentences);
}

TEST(GenerateCellsCli, FreeModeCleansTheTextAsTheReferenceDoes) {
  const TrainedOnSimulated& t = trained();
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  const std::string first = task["labels"][0], second = task["labels"][1];
  const fs::path out = dir() / "free.h5ad";
  const json s = run_json("--threads 1 generate-cells --free --model " + t.model + " --data " + t.store +
                          " --cell-type '" + first + "' --cell-type '" + second + "' -n 5 -o " + out.string());
  EXPECT_EQ(s["mode"], "free");
  EXPECT_EQ(s["cells"], 10);
  EXPECT_EQ(s["genes_requested"], 20);  // the model's top-k
  EXPECT_TRUE(s.contains("unknown_words_dropped") && s.contains("duplicate_genes_merged")) << s.dump();
  const SentenceStore store(t.store);
  const std::set<std::string> genes(store.genes().begin(), store.genes().end());
  const GeneratedFile f = read_generated(out);
  ASSERT_EQ(f.sentences.size(), 10u);
  double unknown = 0, duplicates = 0;
  for (std::size_t i = 0; i < f.sentences.size(); ++i) {
    EXPECT_EQ(f.types[i], i < 5 ? first : second);
    const auto w = words(f.sentences[i]);
    EXPECT_EQ(std::set<std::string>(w.begin(), w.end()).size(), w.size());
    for (const auto& g : w) EXPECT_TRUE(genes.count(g)) << g;
    // Every word of the raw text (sentence punctuation stripped off its
    // end) is a gene kept, an unknown word or a repeat.
    std::size_t raw = 0;
    for (auto w : words(f.texts[i])) {
      while (!w.empty() && (w.back() == '.' || w.back() == ',')) w.pop_back();
      raw += !w.empty();
    }
    EXPECT_EQ(double(raw), f.genes[i] + f.unknown[i] + f.duplicates[i]) << f.texts[i];
    unknown += f.unknown[i], duplicates += f.duplicates[i];
  }
  EXPECT_GT(unknown + duplicates, 0) << "a briefly trained model writes more than genes";
  EXPECT_EQ(s["unknown_words_dropped"].get<double>(), unknown);
  EXPECT_EQ(s["duplicate_genes_merged"].get<double>(), duplicates);
}

std::vector<std::string> csv_lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A model trained for tissue_conditional_generation (the simulated cell
// types standing in for tissues) writes a group of cells a prompt: the -n
// cells in even groups, each cell a sentence of distinct store genes.
TEST(GenerateCellsCli, ATissueModelWritesGroupsOfCells) {
  const fs::path d = process_dir("c2s_generate_tissue_cli");
  const TrainedOnSimulated t = train_on_simulated(
      d, "-n 400 --genes 300 --cell-types 4 --seed 5", "",
      "--threads 1 train --init tiny --task tissue_conditional_generation --label-column cell_type --top-k 10 "
      "--batch-size 8 --lr 3e-3 --max-steps 16 --warmup-steps 4 --eval-every 1000",
      "checkpoint-last");
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  ASSERT_EQ(task["task"], "tissue_conditional_generation");
  const std::string tissue = task["labels"][0].get<std::string>();
  const std::string base = "--threads 1 generate-cells --model " + t.model + " --data " + t.store;
  const fs::path out = d / "tissue.h5ad";
  const json s = run_json(base + " --tissue '" + tissue + "' -n 7 --cells-per-group 3 --genes 8 --seed 3 -o " +
                          out.string());
  EXPECT_EQ(s["task"], "tissue_conditional_generation");
  EXPECT_EQ(s["cells"], 7);
  EXPECT_EQ(s["prompts"], 3);  // 3, 2, 2 cells
  EXPECT_EQ(s["cells_missing"], 0);
  EXPECT_EQ(s["cells_per_tissue"][tissue], 7);
  EXPECT_LE(s["genes_per_cell"]["max"].get<int>(), 8);
  EXPECT_GE(s["genes_per_cell"]["min"].get<int>(), 1);

  const SentenceStore store(t.store);
  const std::set<std::string> genes(store.genes().begin(), store.genes().end());
  const GeneratedFile f = read_generated(out);
  ASSERT_EQ(f.sentences.size(), 7u);
  for (std::size_t i = 0; i < f.sentences.size(); ++i) {
    EXPECT_EQ(f.types[i], tissue);
    const auto w = words(f.sentences[i]);
    ASSERT_FALSE(w.empty()) << i;
    EXPECT_LE(w.size(), 8u);
    EXPECT_EQ(std::set<std::string>(w.begin(), w.end()).size(), w.size()) << "repeated gene: " << f.sentences[i];
    for (const auto& g : w) EXPECT_TRUE(genes.count(g)) << "not a gene: " << g;
    EXPECT_EQ(f.texts[i], f.sentences[i]);  // the cell's own text, nothing else written
    EXPECT_EQ(f.nonzero[i], w.size());
  }
  const auto m = open_matrix(out.string());
  const Column* group = m->obs().find("c2s_group");
  ASSERT_TRUE(group);
  EXPECT_EQ(group->numbers, (std::vector<double>{0, 0, 0, 1, 1, 2, 2}));

  // Free mode: the text split into cells at their headers; what it wrote counted.
  const json fr = run_json(base + " --free --all-tissues -n 4 --genes 8 --seed 3 -o " + (d / "free.h5ad").string());
  EXPECT_EQ(fr["mode"], "free");
  EXPECT_EQ(fr["prompts"], 4);  // one group of 4 cells a tissue
  EXPECT_EQ(fr["cells"].get<int>() + fr["cells_missing"].get<int>(), 16) << fr.dump();

  // The flag must fit the model: --tissue for a tissue model, --cell-type for a cell-type model.
  expect_clean_failure(run_c2s("-q " + base + " --cell-type '" + tissue + "' -o " + (d / "a.h5ad").string()),
                       "--tissue", 2);
  expect_clean_failure(run_c2s("-q " + base + " --all-tissues --cells-per-group 0 -o " + (d / "b.h5ad").string()),
                       "--cells-per-group", 2);
  expect_clean_failure(run_c2s("-q " + base + " --tissue 'no such tissue' -o " + (d / "c.h5ad").string()),
                       "not a tissue of the model", 1);
  const std::string cell_model = "-q generate-cells --model " + trained().model + " --data " + trained().store;
  expect_clean_failure(run_c2s(cell_model + " --tissue x -o " + (d / "e.h5ad").string()), "--cell-type", 2);
  expect_clean_failure(run_c2s(cell_model + " --all-types --cells-per-group 3 -o " + (d / "e.h5ad").string()),
                       "--cells-per-group", 2);
  for (const char* name : {"a.h5ad", "b.h5ad", "c.h5ad", "e.h5ad"}) EXPECT_FALSE(fs::exists(d / name)) << name;
}

TEST(EvaluateGenerationCli, ScoresGeneratedCellsBesideTheBaselines) {
  const TrainedOnSimulated& t = trained();
  const fs::path gen = dir() / "for_eval.h5ad", out = dir() / "eval";
  run_json("--threads 1 generate-cells --model " + t.model + " --data " + t.store + " --all-types -n 8 -o " +
           gen.string());
  const json s = run_json("--threads 2 evaluate-generation --generated " + gen.string() + " --data " + t.store +
                          " -o " + out.string());
  EXPECT_EQ(s["generated_cells"], 32);
  EXPECT_EQ(s["split"], "test");
  EXPECT_GT(s["real_cells"].get<int>(), 25);
  for (const char* f : {"summary.json", "scores.csv", "predictions.csv", "generated_vs_real.png", "baseline_vs_real.png"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const json full = json::parse(slurp(out / "summary.json"));
  EXPECT_EQ(full["ks"], json::array({3, 5, 10, 25}));
  for (const char* set : {"generated", "sampled_ranks", "mean_ranks", "train_cells"}) {
    ASSERT_TRUE(full["sets"].contains(set)) << set;
    const json& r = full["sets"][set];
    EXPECT_EQ(r["cells"], 32) << set;
    for (const char* field : {"knn_accuracy", "knn_accuracy_rebuilt"})
      for (const char* k : {"3", "5", "10", "25"}) {
        const double acc = r[field][k].get<double>();
        EXPECT_GE(acc, 0.0);
        EXPECT_LE(acc, 1.0);
      }
    EXPECT_TRUE(r["mmd2"].is_number()) << set;
    EXPECT_TRUE(r["mmd2_rebuilt"].is_number()) << set;
    EXPECT_EQ(r["per_type"].size(), 4u) << set;
    EXPECT_EQ(s[set]["knn_accuracy"], r["knn_accuracy"]);
    EXPECT_EQ(s[set]["knn_accuracy_rebuilt"], r["knn_accuracy_rebuilt"]);
  }
  // Real training cells rebuilt from their 20 top genes are recognised: the
  // four simulated types are well apart, so the comparison means something.
  EXPECT_GE(full["sets"]["train_cells"]["knn_accuracy"]["5"].get<double>(), 0.8) << full.dump();
  EXPECT_GE(full["sets"]["train_cells"]["knn_accuracy_rebuilt"]["5"].get<double>(), 0.8) << full.dump();
  EXPECT_GT(full["mmd_kernel"]["bandwidth"].get<double>(), 0);
  // scores.csv: per set, all cells then each type; predictions.csv agrees with the summary.
  const auto scores = csv_lines(out / "scores.csv");
  EXPECT_EQ(scores[0],
            "set,cell_type,cells,real_cells,knn_k3,knn_k5,knn_k10,knn_k25,knn_rebuilt_k3,knn_rebuilt_k5,"
            "knn_rebuilt_k10,knn_rebuilt_k25,mmd2,mmd2_rebuilt");
  EXPECT_EQ(scores.size(), 1u + 4 * 5);
  const auto predictions = csv_lines(out / "predictions.csv");
  ASSERT_EQ(predictions.size(), 33u);
  EXPECT_EQ(predictions[0], "cell,cell_type,genes,knn_k3,knn_k5,knn_k10,knn_k25");
  int right = 0;
  for (std::size_t i = 1; i < predictions.size(); ++i) {
    std::vector<std::string> fields;
    std::stringstream line(predictions[i]);
    for (std::string f; std::getline(line, f, ',');) fields.push_back(f);
    ASSERT_EQ(fields.size(), 7u) << predictions[i];
    right += fields[1] == fields[4];
  }
  EXPECT_NEAR(full["sets"]["generated"]["knn_accuracy"]["5"].get<double>(), right / 32.0, 1e-12);
  // The same inputs, the same figures, for any thread count (seeded PCA,
  // baselines and MMD sample).
  const json again = run_json("--threads 1 evaluate-generation --generated " + gen.string() + " --data " + t.store +
                              " -o " + (dir() / "eval_again").string());
  for (const char* set : {"generated", "sampled_ranks", "mean_ranks", "train_cells"})
    EXPECT_EQ(again[set], s[set]) << set;
}

TEST(GenerateCellsCli, BadInputIsOneLine) {
  const TrainedOnSimulated& t = trained();
  const fs::path d = dir() / "bad";
  fs::create_directories(d);
  auto fails = [&](const std::string& args, const std::string& needle, int code) {
    expect_clean_failure(run_c2s("-q generate-cells " + args), needle, code);
  };
  const std::string base = "--model " + t.model + " --data " + t.store;
  const json task = json::parse(slurp(fs::path(t.model) / "c2s_task.json"));
  // An unknown type: one line naming the known ones.
  fails(base + " --cell-type 'Purkinje cells' -o " + (d / "a.h5ad").string(), "not a cell type of the model", 1);
  fails(base + " --cell-type 'Purkinje cells' -o " + (d / "a.h5ad").string(), task["labels"][0].get<std::string>(), 1);
  fails(base + " -o " + (d / "b.h5ad").string(), "--cell-type", 2);
  fails(base + " --all-types --cell-type x -o " + (d / "b.h5ad").string(), "--all-types", 2);
  fails(base + " --all-types -n 0 -o " + (d / "b.h5ad").string(), "-n", 2);
  // A model not trained for generation: none at all, or another task.
  fails("--model " + (fs::path(C2S_SHARED_DIR) / "golden" / "models" / "neox-tiny").string() + " --data " + t.store +
            " --all-types -o " + (d / "c.h5ad").string(),
        "c2s_task.json", 1);
  const fs::path annotator = d / "annotator";
  fs::copy(t.model, annotator, fs::copy_options::recursive);
  json other = task;
  other["task"] = "cell_type_prediction";
  other.erase("templates");
  other.erase("prompts");
  std::ofstream(annotator / "c2s_task.json") << other.dump();
  fails("--model " + annotator.string() + " --data " + t.store + " --all-types -o " + (d / "c.h5ad").string(),
        "not cell_type_generation", 1);
  // A model without its tokenizer.
  const fs::path bare = d / "bare";
  fs::copy(t.model, bare, fs::copy_options::recursive);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) fs::remove(bare / f);
  fails("--model " + bare.string() + " --data " + t.store + " --all-types -o " + (d / "e.h5ad").string(), "tokenizer",
        1);
  // A store of other genes than the model's.
  const std::string other_store = (d / "other.c2s").string();
  run_json("convert " + (fs::path(C2S_SHARED_DIR) / "data" / "pbmc68k_reduced_counts.h5ad").string() + " -o " +
           other_store);
  fails("--model " + t.model + " --data " + other_store + " --all-types -o " + (d / "f.h5ad").string(), "genes", 1);
  fails(base + " --all-types -o " + (d / "no_such_folder" / "g.h5ad").string(), "does not exist", 1);
  for (const char* name : {"a.h5ad", "b.h5ad", "c.h5ad", "e.h5ad", "f.h5ad"}) EXPECT_FALSE(fs::exists(d / name)) << name;
  std::size_t hidden = 0;
  for (const auto& e : fs::directory_iterator(d)) hidden += e.path().filename().string().rfind(".", 0) == 0;
  EXPECT_EQ(hidden, 0u);
}

TEST(EvaluateGenerationCli, BadInputIsOneLine) {
  const TrainedOnSimulated& t = trained();
  const fs::path d = dir() / "bad_eval";
  fs::create_directories(d);
  const fs::path gen = d / "gen.h5ad";
  run_json("--threads 1 generate-cells --model " + t.model + " --data " + t.store + " --all-types -n 3 -o " +
           gen.string());
  auto fails = [&](const std::string& args, const std::string& needle, int code) {
    expect_clean_failure(run_c2s("-q evaluate-generation " + args), needle, code);
  };
  const std::string base = "--generated " + gen.string() + " --data " + t.store;
  fails(base + " --label-column tissue -o " + (d / "a").string(), "no obs column 'tissue'", 1);
  fails(base + " --split holdout -o " + (d / "b").string(), "holdout", 1);
  fails("--generated " + (d / "missing.h5ad").string() + " --data " + t.store + " -o " + (d / "c").string(),
        "missing.h5ad", 1);
  fails(base + " --pcs 0 -o " + (d / "c").string(), "--pcs", 2);
  // The store of another gene set (split, so the genes are what fails).
  const std::string other_store = (d / "other.c2s").string();
  run_json("convert " + (fs::path(C2S_SHARED_DIR) / "data" / "pbmc68k_reduced_counts.h5ad").string() +
           " --obs bulk_labels -o " + other_store);
  run_json("split " + other_store);
  fails("--generated " + gen.string() + " --data " + other_store + " --label-column bulk_labels -o " +
            (d / "e").string(),
        "genes of the store", 1);
  // A folder holding other files is not replaced.
  fs::create_directories(d / "full");
  std::ofstream(d / "full" / "notes.txt") << "mine";
  fails(base + " -o " + (d / "full").string(), "holds other files (notes.txt)", 1);
  EXPECT_TRUE(fs::exists(d / "full" / "notes.txt"));
  for (const char* name : {"a", "b", "c", "e"}) EXPECT_FALSE(fs::exists(d / name)) << name;
}

}  // namespace
}  // namespace c2s
