// `c2s init-model` writes Hugging Face folders that load elsewhere: the
// Python peer (bench/model_peer.py, which reads the folder by Hugging Face's
// names and shapes as transformers does) computes the same logits as
// `c2s forward` on them, for every architecture, stored dtype and sharding.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() { return process_dir("c2s_init_model"); }

const char* const kIds = "1,5,9,200,7,3";

// `c2s forward --json` and the peer's forward on `folder` agree.
void expect_peer_agrees(const fs::path& folder, double tolerance) {
  CliResult c2s = run_c2s("-q --threads 2 forward --json --model " + folder.string() + " --ids " + kIds);
  ASSERT_EQ(c2s.exit_code, 0) << c2s.err;
  const std::string peer_out = (dir() / "peer.json").string();
  ASSERT_EQ(std::system(("/usr/bin/python3 bench/model_peer.py forward --model " + folder.string() + " --ids " + kIds +
                         " > " + peer_out).c_str()),
            0);
  const json ours = json::parse(c2s.out), theirs = json::parse(slurp(peer_out));
  EXPECT_EQ(ours["argmax"], theirs["argmax"]);
  const auto& a = ours["last_logits"];
  const auto& b = theirs["last_logits"];
  ASSERT_EQ(a.size(), b.size());
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(a[i].get<double>() - b[i].get<double>()));
    largest = std::max(largest, std::abs(a[i].get<double>()));
  }
  EXPECT_LE(worst, tolerance) << folder;
  EXPECT_GT(largest, 0.0) << "all-zero logits prove nothing";
}

json init_model(const std::string& args, const fs::path& out) {
  return run_json("init-model --threads 2 " + args + " -o " + out.string());
}

}  // namespace

TEST(InitModelCommand, EveryArchitectureLoadsInThePythonPeerWithTheSameLogits) {
  for (const std::string preset : {"pythia-tiny", "gemma-2-tiny", "gpt2-tiny"}) {
    SCOPED_TRACE(preset);
    const fs::path out = dir() / preset;
    json summary = init_model("--preset " + preset + " --seed 7", out);
    EXPECT_EQ(summary["dtype"], "float32");
    EXPECT_EQ(fs::file_size(out / "model.safetensors") > summary["weights_bytes"].get<std::uint64_t>(), true);
    EXPECT_TRUE(fs::exists(out / "config.json") && fs::exists(out / "generation_config.json"));
    expect_peer_agrees(out, 1e-5);
  }
}

TEST(InitModelCommand, SeedDecidesTheWeights) {
  const fs::path a = dir() / "seed_a", b = dir() / "seed_b", c = dir() / "seed_c";
  init_model("--preset gpt2-tiny --seed 1", a);
  init_model("--preset gpt2-tiny --seed 1", b);
  init_model("--preset gpt2-tiny --seed 2", c);
  EXPECT_EQ(slurp(a / "model.safetensors"), slurp(b / "model.safetensors"));
  EXPECT_NE(slurp(a / "model.safetensors"), slurp(c / "model.safetensors"));
}

TEST(InitModelCommand, Bf16AndShardedFoldersLoadInThePeer) {
  const fs::path bf16 = dir() / "bf16";
  json summary = init_model("--preset pythia-tiny --dtype bf16", bf16);
  EXPECT_EQ(summary["dtype"], "bfloat16");
  EXPECT_EQ(json::parse(slurp(bf16 / "config.json"))["torch_dtype"], "bfloat16");
  expect_peer_agrees(bf16, 1e-5);  // both compute in float32 from the same bf16 weights

  const fs::path sharded = dir() / "sharded";
  init_model("--preset gemma-2-tiny --max-shard-gb 0.0001", sharded);  // 100 kB shards
  EXPECT_TRUE(fs::exists(sharded / "model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(sharded / "model.safetensors"));
  expect_peer_agrees(sharded, 1e-5);
}

TEST(InitModelCommand, TokenizerIsCopiedAndUsable) {
  const fs::path out = dir() / "with_tokenizer";
  const std::string tokenizer = std::string(C2S_SHARED_DIR) + "/golden/models/gemma2-tiny";
  init_model("--preset gemma-2-tiny --tokenizer " + tokenizer, out);
  EXPECT_EQ(slurp(out / "tokenizer.model"), slurp(fs::path(tokenizer) / "tokenizer.model"));
  CliResult r = run_c2s("-q --threads 2 generate --json --model " + out.string() +
                        " --prompt 'CD3D CD3E' --max-new-tokens 3 --greedy");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(InitModelCommand, BadInputIsOneErrorLineAndLeavesNothing) {
  const fs::path empty = dir() / "bad";
  fs::create_directories(empty);
  const std::string out = " -o " + (empty / "m").string();
  expect_clean_failure(run_c2s("init-model -q" + out), "--preset or --config", 2);
  expect_clean_failure(run_c2s("init-model -q --preset nope" + out), "unknown model preset 'nope'", 2);
  expect_clean_failure(run_c2s("init-model -q --preset gpt2-tiny --dtype fp8" + out), "unknown dtype 'fp8'", 2);
  expect_clean_failure(run_c2s("init-model -q --config " + (empty / "missing.json").string() + out), "missing.json");
  const std::string big_tokenizer = std::string(C2S_SHARED_DIR) + "/golden/models/neox-tiny";
  expect_clean_failure(run_c2s("init-model -q --preset pythia-tiny --tokenizer " + big_tokenizer + out),
                       "more than the model's vocab_size 1024");
  expect_clean_failure(run_c2s("init-model -q --preset gpt2-tiny -o " + (empty / "no" / "m").string()),
                       "does not exist");
  EXPECT_EQ(entries(empty), 0u);

  // A failed run leaves an existing model folder as it was.
  const fs::path kept = dir() / "kept";
  init_model("--preset gpt2-tiny", kept);
  const std::string before = slurp(kept / "model.safetensors");
  expect_clean_failure(run_c2s("init-model -q --preset pythia-tiny --tokenizer " + big_tokenizer + " -o " + kept.string()),
                       "vocab_size");
  EXPECT_EQ(slurp(kept / "model.safetensors"), before);
}

}  // namespace c2s
