// `c2s perturb` run as a user would, on a tiny perturbation model trained
// from scratch on a simulated split store (ctrl / stim, the simulator's
// interferon response): the predicted cells' h5ad, the shift evaluation
// (checked against the cells reconstructed by `c2s reconstruct` in Python),
// results independent of the batch, and bad input refused in one line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

fs::path dir() { return process_dir("c2s_perturb_cli"); }

// 400 simulated cells of 4 types, half of them stimulated, split by cells
// (30% held out, so that the held-out means are not too noisy), and a tiny
// model trained to perturb their top-30 sentences (controls matched by cell
// type), once for the whole file.
const TrainedOnSimulated& trained() {
  static const TrainedOnSimulated t = train_on_simulated(
      dir(), "-n 400 --genes 400 --cell-types 4 --seed 5", " --fractions 0.6,0.1,0.3",
      "--threads 1 train --init tiny --task perturbation_prediction --top-k 30 --batch-size 8 --lr 3e-3 --epochs 4 "
      "--warmup-steps 4",
      "checkpoint-last");
  return t;
}

std::string perturb_args(const TrainedOnSimulated& t, const fs::path& out) {
  return "--threads 1 perturb --model " + t.model + " --data " + t.store + " --perturbation stim -o " + out.string();
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(PerturbCli, TrainingRecordsWhatPerturbNeeds) {
  const json task = json::parse(slurp(fs::path(trained().model) / "c2s_task.json"));
  EXPECT_EQ(task["task"], "perturbation_prediction");
  EXPECT_EQ(task["condition_column"], "condition");
  EXPECT_EQ(task["control"], "ctrl");
  EXPECT_EQ(task["perturbations"], json::array({"stim"}));
  EXPECT_EQ(task["match_column"], "cell_type");
  EXPECT_EQ(task["top_k"], 30);
}

TEST(PerturbCli, PredictsTheTestControlsAndScoresTheShift) {
  const TrainedOnSimulated& t = trained();
  const fs::path out = dir() / "pred.h5ad", eval = dir() / "eval";
  // The defaults: constrained and sampled (the mean of sampled sentences
  // estimates the mean perturbed cell; greedy decoding gives nearly one
  // sentence for every control).
  const json s = run_json(perturb_args(t, out) + " --seed 1 --evaluate " + eval.string() + " --top-genes 20");
  EXPECT_EQ(s["split"], "test");
  EXPECT_EQ(s["decoding"], "constrained");
  EXPECT_EQ(s["sampling"], "sampled");
  EXPECT_EQ(s["unknown_words_dropped"], 0) << s.dump();  // only genes, none twice
  EXPECT_EQ(s["duplicate_genes_merged"], 0) << s.dump();
  const int cells = s["cells"].get<int>();
  EXPECT_GT(cells, 10);
  EXPECT_GT(s["words"].get<int>(), cells * 10) << s.dump();  // sentences, not empty answers
  for (const char* f : {"summary.json", "shifts.csv", "shift_scatter.png"}) EXPECT_TRUE(fs::exists(eval / f)) << f;
  const json e = json::parse(slurp(eval / "summary.json"));
  EXPECT_EQ(e["cells"]["predicted"], cells);
  EXPECT_EQ(e["cells"]["test_control"], cells);
  EXPECT_EQ(e["top_genes"], 20);
  EXPECT_EQ(e["most_changed_genes"].size(), 20u);
  const json& m = e["methods"];
  EXPECT_TRUE(m["no_change"]["pearson_r_top_genes"].is_null());
  EXPECT_GT(m["no_change"]["rmse_top_genes"].get<double>(), 0.1);
  EXPECT_GT(m["training_shift"]["pearson_r_top_genes"].get<double>(), 0.9) << m.dump();
  EXPECT_GT(m["real_sentences"]["pearson_r_top_genes"].get<double>(), 0.6) << m.dump();
  // The simulated stimulation is strong (interferon genes ~15-fold): the
  // trained model's sentences carry it, well above sentences without genes
  // (the controls subtracted alone, which correlate with the truth by themselves).
  const double model_r = m["c2s"]["pearson_r_top_genes"].get<double>();
  EXPECT_GT(model_r, 0.6) << m.dump();
  EXPECT_GT(model_r, m["empty_sentences"]["pearson_r_top_genes"].get<double>() + 0.1) << m.dump();
  EXPECT_LT(m["c2s"]["rmse_top_genes"].get<double>(), m["empty_sentences"]["rmse_top_genes"].get<double>());
  EXPECT_EQ(s["evaluation"]["methods"]["c2s"]["pearson_r_top_genes"], m["c2s"]["pearson_r_top_genes"]);
  EXPECT_EQ(lines_of(eval / "shifts.csv").size(), e["genes"].get<std::size_t>() + 1);

  // The h5ad, and the c2s shift recomputed from it and from `c2s reconstruct`
  // of the store's own top-30 sentences.
  const fs::path controls = dir() / "reconstructed.h5ad";
  run_json("reconstruct " + t.store + " --top-k 30 -o " + controls.string());
  ASSERT_EQ(run_python("import anndata, numpy as np, pandas as pd\n"
                       "p = anndata.read_h5ad('" + out.string() + "')\n"
                       "c = anndata.read_h5ad('" + controls.string() + "')\n"
                       "assert p.n_obs == " + std::to_string(cells) + ", p.n_obs\n"
                       "assert list(p.var_names) == list(c.var_names)\n"
                       "for col in ['control_cell', 'perturbation', 'sentence', 'finish_reason', 'cell_type',\n"
                       "            'c2s_genes', 'c2s_unknown_words', 'c2s_duplicate_genes']:\n"
                       "    assert col in p.obs.columns, col\n"
                       "assert (p.obs['perturbation'] == 'stim').all()\n"
                       "assert p.uns['c2s_perturbation'] == 'stim' and p.uns['c2s_control'] == 'ctrl'\n"
                       "assert int(p.uns['c2s_top_k']) == 30\n"
                       "held = c[(c.obs['split'] == 'test') & (c.obs['condition'] == 'ctrl')]\n"
                       "assert list(held.obs_names) == list(p.obs['control_cell']), 'the test controls, in order'\n"
                       "assert (held.obs['cell_type'].astype(str).values == p.obs['cell_type'].astype(str).values).all()\n"
                       "shift = (np.asarray(p.X.mean(axis=0)).ravel() - np.asarray(held.X.mean(axis=0)).ravel()) * np.log(10)\n"
                       "d = pd.read_csv('" + (eval / "shifts.csv").string() + "')\n"
                       "assert list(d.gene) == list(p.var_names)\n"
                       "err = np.abs(d.c2s_shift.values - shift).max()\n"
                       "assert err < 1e-4, err\n"),
            0);
}

TEST(PerturbCli, SentencesDoNotDependOnTheBatchAndSamplingIsSeeded) {
  const TrainedOnSimulated& t = trained();
  const fs::path a = dir() / "b16.h5ad", b = dir() / "b3.h5ad", c = dir() / "s1.h5ad", d = dir() / "s1again.h5ad";
  const json sa = run_json(perturb_args(t, a) + " -n 12 --greedy");
  EXPECT_EQ(sa["cells"], 12);
  EXPECT_EQ(sa["sampling"], "greedy");
  run_json(perturb_args(t, b) + " -n 12 --greedy --batch-size 3");
  run_json(perturb_args(t, c) + " -n 12 --seed 1 --batch-size 5");
  const json sd = run_json(perturb_args(t, d) + " -n 12 --seed 1");
  EXPECT_EQ(sd["sampling"], "sampled");
  ASSERT_EQ(run_python("import anndata\n"
                       "s = lambda f: list(anndata.read_h5ad(f).obs['sentence'])\n"
                       "a, b, c, d = s('" + a.string() + "'), s('" + b.string() + "'), s('" + c.string() + "'), s('" +
                       d.string() + "')\n"
                       "assert a == b, 'greedy: same sentences at any batch size'\n"
                       "assert c == d, 'sampled: same sentences for the same seed, at any batch size'\n"
                       "assert c != a, 'sampling draws other sentences than greedy decoding'\n"),
            0);
}

TEST(PerturbCli, FreeModeCleansTheTextAsTheReferenceDoes) {
  const TrainedOnSimulated& t = trained();
  const fs::path out = dir() / "free.h5ad";
  const json s = run_json(perturb_args(t, out) + " -n 20 --free --seed 1");
  EXPECT_EQ(s["decoding"], "free");
  EXPECT_EQ(s["cells"], 20);
  // Every word is a gene kept, an unknown word dropped or a repeat merged.
  const auto kept = s["words"].get<std::int64_t>() - s["unknown_words_dropped"].get<std::int64_t>() -
                    s["duplicate_genes_merged"].get<std::int64_t>();
  EXPECT_NEAR(s["genes_per_sentence"].get<double>(), double(kept) / 20, 1e-9);
  ASSERT_EQ(run_python("import anndata, numpy as np\n"
                       "p = anndata.read_h5ad('" + out.string() + "')\n"
                       "w = p.obs['sentence'].str.split().str.len().fillna(0).astype(int)\n"
                       "assert (p.obs['c2s_genes'] + p.obs['c2s_unknown_words'] + p.obs['c2s_duplicate_genes'] == w).all()\n"),
            0);
}

TEST(PerturbCli, BadInputIsOneLine) {
  const TrainedOnSimulated& t = trained();
  const fs::path d = dir() / "bad";
  fs::create_directories(d);
  auto fails = [&](const std::string& args, const std::string& needle, int code) {
    expect_clean_failure(run_c2s("-q perturb " + args), needle, code);
  };
  const std::string model = "--model " + t.model;
  const std::string base = model + " --data " + t.store;
  fails(base + " --perturbation LPS -o " + (d / "a.h5ad").string(), "'LPS' was not seen in training", 1);
  fails(base + " --perturbation stim --greedy --temperature 0.7 -o " + (d / "b.h5ad").string(), "not --greedy", 2);
  fails(base + " --perturbation stim --split nowhere -o " + (d / "c.h5ad").string(), "no control cells", 1);
  fails(base + " --perturbation stim -o " + (d / "no" / "such" / "e.h5ad").string(), "does not exist", 1);
  fails(model + " --data " + (d / "missing.c2s").string() + " --perturbation stim -o " + (d / "f.h5ad").string(),
        "missing.c2s", 1);

  // A store without control cells (every cell stimulated), of the same genes.
  const std::string all_stim = (d / "stim.c2s").string();
  run_json("simulate -n 100 --genes 400 --cell-types 4 --seed 5 --stimulated 1 -o " + (d / "stim.h5ad").string());
  run_json("convert " + (d / "stim.h5ad").string() + " -o " + all_stim + " --min-genes 20");
  fails(model + " --data " + all_stim + " --perturbation stim -o " + (d / "g.h5ad").string(),
        "no control cells: no cell has condition 'ctrl'", 1);
  fails(model + " --data " + all_stim + " --perturbation stim --evaluate " + (d / "h").string() + " -o " +
            (d / "h.h5ad").string(),
        "--evaluate needs held-out cells", 2);

  // Models that cannot perturb: none of c2s's, one of another task, one without its tokenizer.
  const std::string golden = (fs::path(C2S_SHARED_DIR) / "golden" / "models" / "neox-tiny").string();
  fails("--model " + golden + " --data " + t.store + " --perturbation stim -o " + (d / "i.h5ad").string(),
        "c2s_task.json", 1);
  const fs::path other_task = d / "annotation_model";
  fs::copy(t.model, other_task, fs::copy_options::recursive);
  json task = json::parse(slurp(other_task / "c2s_task.json"));
  task["task"] = "cell_type_prediction";
  task.erase("templates");
  task["prompts"] = "built-in cell_type_prediction";
  std::ofstream(other_task / "c2s_task.json") << task.dump();
  fails("--model " + other_task.string() + " --data " + t.store + " --perturbation stim -o " + (d / "j.h5ad").string(),
        "not perturbation_prediction", 1);
  const fs::path no_tokenizer = d / "no_tokenizer";
  fs::copy(t.model, no_tokenizer, fs::copy_options::recursive);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    fs::remove(no_tokenizer / f);
  fails("--model " + no_tokenizer.string() + " --data " + t.store + " --perturbation stim -o " +
            (d / "k.h5ad").string(),
        "no tokenizer", 1);

  // A store of other genes than the model's.
  const std::string other = (d / "other.c2s").string();
  run_json("convert " + (fs::path(C2S_SHARED_DIR) / "data" / "pbmc68k_reduced_counts.h5ad").string() + " -o " + other);
  fails(model + " --data " + other + " --perturbation stim -o " + (d / "l.h5ad").string(), "genes", 1);

  for (const char* name : {"a.h5ad", "b.h5ad", "c.h5ad", "f.h5ad", "g.h5ad", "h", "h.h5ad", "i.h5ad", "j.h5ad",
                           "k.h5ad", "l.h5ad"})
    EXPECT_FALSE(fs::exists(d / name)) << name;
}

}  // namespace
}  // namespace c2s
