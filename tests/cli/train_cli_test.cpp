// `c2s train` run as a user would: from scratch on a split store, fine-tuning
// a golden model on task examples, an exact resume (after a stop and after
// Ctrl-C), two data-parallel processes against one, LoRA with merging, and
// bad input refused before any work.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli_runner.hpp"

namespace c2s {
namespace {

using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

fs::path dir() { return process_dir("c2s_train_cli"); }

std::string golden_model(const std::string& name) {
  return (fs::path(C2S_SHARED_DIR) / "golden" / "models" / name).string();
}

// Cell-type examples in the `c2s prompts` format.
std::string examples_file() {
  static std::string path = [] {
    const std::pair<const char*, const char*> cells[] = {{"CD3E CD3D IL7R LTB", "T cell"},
                                                         {"MS4A1 CD79A CD79B", "B cell"},
                                                         {"LYZ S100A8 S100A9 CD14", "CD14+ monocyte"},
                                                         {"GNLY NKG7 GZMB", "NK cell"}};
    std::string p = (dir() / "examples.jsonl").string();
    std::ofstream out(p);
    for (int i = 0; i < 48; ++i) {
      const auto& [genes, label] = cells[i % 4];
      out << json{{"model_input", std::string("Cell sentence: ") + genes + ".\nCell type:"},
                  {"response", std::string(" ") + label + "."}}
                 .dump()
          << "\n";
    }
    return p;
  }();
  return path;
}

std::string slurp_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<json> log_steps(const fs::path& run) {
  std::vector<json> steps;
  for (const auto& line : json_lines(slurp_file(run / "train_log.jsonl")))
    if (line.contains("loss")) steps.push_back(line);
  return steps;
}

// Fine-tuning neox-tiny on the examples: constant learning rate, so that a
// run cut short and resumed follows the very schedule of the whole run.
std::string tiny_run(const fs::path& out, const std::string& extra) {
  const std::string batch = extra.find("--batch-size") == std::string::npos ? " --batch-size 4" : "";
  return "--threads 1 train --model " + golden_model("neox-tiny") + " --examples " + examples_file() + " -o " +
         out.string() + batch + " --lr 2e-3 --schedule constant --weight-decay 0.01 --max-grad-norm 1 " + extra;
}

TEST(TrainCli, FromScratchOnASplitStoreLearnsAndWritesAModelFolderThatLoads) {
  const fs::path d = dir() / "scratch";
  fs::create_directories(d);
  const std::string h5ad = (d / "sim.h5ad").string(), store = (d / "sim.c2s").string();
  run_json("simulate -n 300 --genes 400 --cell-types 4 --seed 5 -o " + h5ad);
  run_json("convert " + h5ad + " -o " + store + " --min-genes 20");
  run_json("split " + store);
  const fs::path run = d / "run";
  // No --tokenizer: the run makes the store's gene tokenizer itself.
  json s = run_json("--threads 2 train --init tiny --data " + store +
                    " --task cell_type_prediction --top-k 30 -o " + run.string() +
                    " --batch-size 8 --lr 3e-3 --max-steps 24 --warmup-steps 2 --eval-every 12 --eval-examples 40" +
                    " --eval-accuracy 20");
  EXPECT_EQ(s["steps"], 24);
  EXPECT_EQ(s["stopped_by"], "done");
  EXPECT_GT(s["train_examples"].get<int>(), 200);
  EXPECT_GT(s["validation_examples"].get<int>(), 10);
  const auto steps = log_steps(run);
  ASSERT_EQ(steps.size(), 24u);
  EXPECT_LT(steps.back()["loss"].get<double>(), 0.5 * steps.front()["loss"].get<double>());
  EXPECT_EQ(steps.front()["lr"], 0.0);  // warmup starts at 0, as transformers
  EXPECT_TRUE(s["best_validation_loss"].is_number());
  // The label accuracy of 20 validation cells at each evaluation (steps 12, 24).
  std::vector<double> accuracies;
  for (const auto& line : json_lines(slurp_file(run / "train_log.jsonl")))
    if (line.contains("validation_accuracy")) accuracies.push_back(line["validation_accuracy"].get<double>());
  ASSERT_EQ(accuracies.size(), 2u);
  for (double x : accuracies) EXPECT_TRUE(x >= 0 && x <= 1) << x;
  EXPECT_EQ(s["validation_accuracy"], accuracies.back());

  EXPECT_TRUE(fs::exists(run / "gene_tokenizer" / "tokenizer.json"));
  EXPECT_TRUE(slurp_file(run / "gene_tokenizer" / "tokenizer.json") ==
              slurp_file(run / "checkpoint-last" / "tokenizer.json"));
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "c2s_task.json", "trainer_state.json",
                        "optimizer.safetensors"})
    EXPECT_TRUE(fs::exists(run / "checkpoint-last" / f)) << f;
  EXPECT_TRUE(fs::exists(run / "checkpoint-best" / "model.safetensors"));
  const json task = json::parse(slurp_file(run / "checkpoint-last" / "c2s_task.json"));
  EXPECT_EQ(task["task"], "cell_type_prediction");
  EXPECT_EQ(task["label_column"], "cell_type");
  EXPECT_EQ(task["labels"].size(), 4u);
  EXPECT_EQ(task["top_k"], 30);
  // The model's genes are exactly those of the training and validation
  // cells' top-30 sentences (not the test cells', not the whole store's).
  std::set<std::string> shown, all, tokens;
  for (const char* split : {"train", "validation", ""}) {
    const std::string file = (d / (std::string("sentences-") + split + ".jsonl")).string();
    run_json("export " + store + " --top-k " + (*split ? "30 --split " + std::string(split) : std::string("0")) +
             " -o " + file);
    for (const auto& line : json_lines(slurp_file(file))) {
      std::istringstream words(line["cell_sentence"].get<std::string>());
      for (std::string w; words >> w;) (*split ? shown : all).insert(w);
    }
  }
  const auto genes = task["genes"].get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(genes.begin(), genes.end()), shown);
  EXPECT_GT(genes.size(), 50u);
  EXPECT_LT(genes.size(), all.size());
  const json vocab = json::parse(slurp_file(run / "gene_tokenizer" / "tokenizer.json"))["model"]["vocab"];
  std::size_t unshown_tokens = 0;  // genes not shown that are tokens anyway: label or template words only
  for (const auto& g : all) {
    const bool token = vocab.contains("\u2581" + g);
    if (shown.count(g)) EXPECT_TRUE(token) << g;
    else unshown_tokens += token;
  }
  EXPECT_LT(unshown_tokens, 5u);

  // The checkpoint is a model folder the other commands load.
  const std::string prompt = (d / "prompt.jsonl").string();
  std::ofstream(prompt) << json{{"prompt", "Cell type:"}}.dump() << "\n";
  CliResult g = run_c2s("-q --threads 1 generate --model " + (run / "checkpoint-best").string() + " --prompts " + prompt +
                        " --max-new-tokens 3");
  EXPECT_EQ(g.exit_code, 0) << g.err;
}

TEST(TrainCli, AResumedRunEqualsTheUninterruptedOneBitForBit) {
  const fs::path whole = dir() / "whole", cut = dir() / "cut";
  json a = run_json(tiny_run(whole, "--max-steps 10"));
  ASSERT_EQ(a["steps"], 10);
  json b = run_json(tiny_run(cut, "--max-steps 4"));
  ASSERT_EQ(b["steps"], 4);
  json c = run_json(tiny_run(cut, "--max-steps 10 --resume"));
  EXPECT_EQ(c["steps"], 10);
  for (const char* f : {"model.safetensors", "optimizer.safetensors"})
    EXPECT_TRUE(slurp_file(whole / "checkpoint-last" / f) == slurp_file(cut / "checkpoint-last" / f)) << f;
  const auto x = log_steps(whole), y = log_steps(cut);
  ASSERT_EQ(x.size(), 10u);
  ASSERT_EQ(y.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(x[i]["loss"], y[i]["loss"]) << "step " << i + 1;
}

TEST(TrainCli, CtrlCSavesACheckpointThatResumesExactly) {
  const fs::path whole = dir() / "whole_int", cut = dir() / "cut_int";
  const std::string steps = "--epochs 8";  // 96 steps, long enough to interrupt
  run_json(tiny_run(whole, steps));
  const std::string cmd = "( " + std::string(C2S_BINARY) + " " + tiny_run(cut, steps) +
                          " --json -q > " + (dir() / "int.out").string() + " 2> " + (dir() / "int.err").string() +
                          " & pid=$!; for i in $(seq 600); do [ -s " + (cut / "train_log.jsonl").string() +
                          " ] && break; sleep 0.05; done; kill -INT $pid; wait $pid )";  // once training runs
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp_file(dir() / "int.err");
  const json s = json::parse(slurp_file(dir() / "int.out"));
  EXPECT_EQ(s["stopped_by"], "interrupt");
  EXPECT_LT(s["steps"].get<int>(), 96);
  EXPECT_EQ(log_steps(cut).size(), s["steps"].get<std::size_t>());
  run_json(tiny_run(cut, steps + " --resume"));
  EXPECT_TRUE(slurp_file(whole / "checkpoint-last" / "model.safetensors") ==
              slurp_file(cut / "checkpoint-last" / "model.safetensors"));
}

TEST(TrainCli, TwoProcessesFollowTheOneProcessLossCurve) {
  const fs::path one = dir() / "one", two = dir() / "two";
  run_json(tiny_run(one, "--max-steps 8 --batch-size 2 --grad-accum 2"));
  json s = run_json(tiny_run(two, "--max-steps 8 --batch-size 2 --nproc 2"));
  EXPECT_EQ(s["processes"], 2);
  const auto x = log_steps(one), y = log_steps(two);
  ASSERT_EQ(x.size(), 8u);
  ASSERT_EQ(y.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(x[i]["tokens"], y[i]["tokens"]) << "step " << i + 1;
    EXPECT_NEAR(x[i]["loss"].get<double>(), y[i]["loss"].get<double>(), 1e-5 * x[i]["loss"].get<double>())
        << "step " << i + 1;
  }
  for (const auto& e : fs::directory_iterator(two))  // no rendezvous file left behind
    EXPECT_NE(e.path().filename().string().rfind(".ranks", 0), 0u) << e.path();
}

TEST(TrainCli, LoraTrainsAdaptersOnlyAndMergesThem) {
  const fs::path run = dir() / "lora";
  json s = run_json(tiny_run(run, "--max-steps 6 --lora --lora-rank 4 --lora-dropout 0 --merge-lora"));
  EXPECT_EQ(s["steps"], 6);
  EXPECT_LT(s["trained_parameters"].get<double>(), 0.2 * 6539008);
  EXPECT_TRUE(fs::exists(run / "checkpoint-last" / "adapter_config.json"));
  EXPECT_TRUE(fs::exists(run / "checkpoint-last" / "adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(run / "checkpoint-last" / "model.safetensors"));
  ASSERT_TRUE(fs::exists(run / "merged" / "model.safetensors"));
  // merged = base + (alpha / r) * B @ A, for one adapted layer (numpy).
  const std::string code = R"(
import json, struct, sys, numpy as np
def read(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); out = {}
    for k, v in h.items():
        if k == '__metadata__' or v['dtype'] != 'F32': continue
        s, e = v['data_offsets']; out[k] = np.frombuffer(b[8+n+s:8+n+e], dtype=np.float32).reshape(v['shape'])
    return out
base = read(sys.argv[1]); merged = read(sys.argv[2]); ad = read(sys.argv[3]); cfg = json.load(open(sys.argv[4]))
name = 'gpt_neox.layers.1.attention.query_key_value'
A = ad['base_model.model.' + name + '.lora_A.weight'].astype(np.float64); B = ad['base_model.model.' + name + '.lora_B.weight'].astype(np.float64)
assert np.abs(B).max() > 0, 'B did not train'
want = base[name + '.weight'].astype(np.float64) + cfg['lora_alpha'] / cfg['r'] * B @ A
err = np.abs(merged[name + '.weight'] - want).max()
print(err); sys.exit(0 if err < 1e-6 else 1)
)";
  const fs::path script = dir() / "merge_check.py";
  std::ofstream(script) << code;
  const std::string cmd = "/usr/bin/python3 " + script.string() + " " + golden_model("neox-tiny") + "/model.safetensors " +
                          (run / "merged" / "model.safetensors").string() + " " +
                          (run / "checkpoint-last" / "adapter_model.safetensors").string() + " " +
                          (run / "checkpoint-last" / "adapter_config.json").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(TrainCli, ActivationCheckpointingKeepsTheLossCurve) {
  const fs::path plain = dir() / "plain", recomputed = dir() / "recomputed";
  run_json(tiny_run(plain, "--max-steps 5"));
  const json s = run_json(tiny_run(recomputed, "--max-steps 5 --activation-checkpointing"));
  EXPECT_EQ(s["activation_checkpointing"], true);
  const auto x = log_steps(plain), y = log_steps(recomputed);
  ASSERT_EQ(x.size(), 5u);
  ASSERT_EQ(y.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_NEAR(x[i]["loss"].get<double>(), y[i]["loss"].get<double>(), 1e-5) << "step " << i + 1;
}

// --thinned-copies: each copy adds every training cell once more, from its
// thinned counts; a store of non-count values is refused. (On the `shallow`
// model size, which the Kang recipe trains.)
TEST(TrainCli, ThinnedCopiesAddEveryTrainingCellFromThinnedCounts) {
  const fs::path d = dir() / "thinned";
  fs::create_directories(d);
  const std::string h5ad = (d / "sim.h5ad").string(), store = (d / "sim.c2s").string();
  run_json("simulate -n 120 --genes 300 --cell-types 3 --seed 4 -o " + h5ad);
  run_json("convert " + h5ad + " -o " + store + " --min-genes 10");
  run_json("split " + store);
  auto train = [&](const std::string& name, const std::string& extra) {
    return run_json("--threads 1 train --init shallow --data " + store + " --task cell_type_prediction --top-k 0 -o " +
                    (d / name).string() + " --batch-size 4 --max-steps 1 " + extra);
  };
  const json plain = train("plain", "");
  const json thinned = train("thinned", "--thinned-copies 2 --thinning-min 0.3");
  EXPECT_EQ(plain["thinned_copies"], 0);
  EXPECT_EQ(thinned["thinned_copies"], 2);
  EXPECT_EQ(thinned["train_examples"].get<int>(), 3 * plain["train_examples"].get<int>());
  EXPECT_EQ(thinned["validation_examples"], plain["validation_examples"]);
  // --init shallow: 2 layers of 64 units, positions rotated on the whole head.
  const json config = json::parse(slurp_file(d / "plain" / "checkpoint-last" / "config.json"));
  EXPECT_EQ(config["hidden_size"], 64);
  EXPECT_EQ(config["num_hidden_layers"], 2);
  EXPECT_EQ(config["num_attention_heads"], 2);
  EXPECT_EQ(config["intermediate_size"], 256);
  EXPECT_EQ(config["rotary_pct"], 1.0);

  const std::string csv = (d / "fractions.csv").string();
  {
    std::ofstream out(csv);
    out << "cell,A,B,C\n";
    for (int i = 0; i < 8; ++i) out << "c" << i << "," << 0.5 + i << ",1.25,2\n";
  }
  const std::string fractions = (d / "fractions.c2s").string();
  run_json("convert " + csv + " -o " + fractions + " --min-genes 1 --min-cells 1");
  CliResult r = run_c2s("-q train --init tiny --data " + fractions + " --task cell_type_prediction -o " +
                        (d / "refused").string() + " --thinned-copies 1");
  expect_clean_failure(r, "integer counts", 1);
  EXPECT_FALSE(fs::exists(d / "refused"));
}

TEST(TrainCli, BadInputIsOneLineBeforeAnyWork) {
  const fs::path d = dir() / "bad";
  fs::create_directories(d);
  auto fails = [&](const std::string& args, const std::string& needle, int code) {
    CliResult r = run_c2s("-q train " + args);
    expect_clean_failure(r, needle, code);
  };
  const std::string base = "--model " + golden_model("neox-tiny") + " --examples " + examples_file();
  fails(base + " -o " + (d / "a").string() + " --resume", "nothing to resume", 1);
  fails(base + " -o " + (d / "b").string() + " --schedule wavy", "wavy", 2);
  fails(base + " -o " + (d / "c").string() + " --batch-size 4000000", "needs about", 1);
  fails("--init tiny --examples " + examples_file() + " -o " + (d / "e").string(), "--tokenizer", 2);
  fails("--model " + golden_model("neox-tiny") + " -o " + (d / "f").string(), "--data", 2);
  fails(base + " -o " + (d / "g").string() + " --lora --lora-targets no_such_module", "no_such_module", 2);
  const std::string missing = (d / "missing.jsonl").string();
  fails("--model " + golden_model("neox-tiny") + " --examples " + missing + " -o " + (d / "h").string(), "missing.jsonl", 1);
  // A task needing a label column the store lacks.
  const std::string h5ad = (d / "sim.h5ad").string(), store = (d / "sim.c2s").string();
  run_json("simulate -n 120 --genes 300 --cell-types 3 --seed 2 -o " + h5ad);
  run_json("convert " + h5ad + " -o " + store + " --min-genes 10");
  fails("--model " + golden_model("neox-tiny") + " --data " + store +
            " --task cell_type_prediction --label-column no_such_column -o " + (d / "i").string(),
        "no_such_column", 2);
  // A split store whose train split is empty (not trained on whole).
  run_json("split " + store + " --fractions 0,0.5,0.5");
  fails("--model " + golden_model("neox-tiny") + " --data " + store + " --task cell_type_prediction -o " +
            (d / "j").string(),
        "no \"train\" cells", 1);
  // An output folder that cannot be made.
  std::ofstream(d / "a_file") << "x";
  fails(base + " -o " + (d / "a_file" / "run").string(), "cannot write", 1);
  fails(base + " -o " + (d / "k").string() + " --eval-accuracy 10", "--eval-accuracy needs --data", 2);
  fails(base + " -o " + (d / "l").string() + " --thinned-copies 1", "--thinned-copies needs --data", 2);
  fails(base + " -o " + (d / "m").string() + " --thinned-copies 1 --thinning-min 0", "--thinning-min", 2);
  // A run folder is not trained over by accident.
  run_json(tiny_run(d / "done", "--max-steps 1"));
  fails(base + " -o " + (d / "done").string(), "--resume", 2);
  // Nothing is left behind, not even the run folder.
  for (const char* name : {"a", "b", "c", "e", "f", "g", "h", "i", "j", "k", "l", "m"}) EXPECT_FALSE(fs::exists(d / name)) << name;
}

}  // namespace
}  // namespace c2s
