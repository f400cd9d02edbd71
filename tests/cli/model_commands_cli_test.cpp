// `c2s forward` and `c2s generate` run as a user would on the golden models:
// forward reproduces golden.json's last logits and argmax per position,
// greedy generation the reference's greedy tokens (ending at the folder's
// end-of-sequence token as transformers does), seeded sampling repeats, a
// stop string ends the text where it first appears, --output appears whole
// or not at all, and bad input is one error line, a non-zero exit and no file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"
#include "text/tokenizer.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() { return process_dir("c2s_model_commands"); }
std::string model(const std::string& name) { return std::string(C2S_SHARED_DIR) + "/golden/models/" + name; }
json golden(const std::string& name) { return json::parse(slurp(model(name) + "/golden.json")); }

std::string write_file(const std::string& name, const std::string& text) {
  fs::path p = dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

// A fresh, empty folder for one test's outputs.
fs::path out_dir(const std::string& name) {
  fs::path p = dir() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::vector<std::string> entry_names(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string id_list(const json& ids) {
  std::string s;
  for (const auto& id : ids) {
    if (!s.empty()) s += ',';
    s += std::to_string(id.get<std::int64_t>());
  }
  return s;
}

// Single-quoted for the shell.
std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string cell_name(std::size_t s) { return std::string("c").append(std::to_string(s)); }

// A JSONL of the golden sequences as "ids" prompts, each with a field to pass through.
std::string golden_prompts_file(const std::string& name, const json& g) {
  std::string text;
  for (std::size_t s = 0; s < g["sequences"].size(); ++s)
    text += json{{"ids", g["sequences"][s]["input_ids"]}, {"cell", cell_name(s)}, {"index", 99}}.dump() + "\n";
  return write_file(name, text);
}

json run_ok(const std::string& args) {
  CliResult r = run_c2s("-q --threads 1 " + args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  try {
    return json::parse(r.out);
  } catch (...) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return {};
  }
}

std::vector<json> tokens_of(const json& results) {
  std::vector<json> t;
  for (const auto& r : results) t.push_back(r["tokens"]);
  return t;
}

}  // namespace

TEST(ModelCommandsForward, ReproducesTheGoldenLastLogitsAndArgmaxAtEveryPosition) {
  const json g = golden("neox-tiny");
  // README: about max(1e-4, 20 * the reference's own float32 error) for float32.
  const double tol = std::max(1e-4, 20 * g["fp32_vs_fp64_max_abs_logit_diff"].get<double>());
  const json& seq = g["sequences"][2];  // 40 tokens
  json out = run_ok("forward --model " + model("neox-tiny") + " --ids " + id_list(seq["input_ids"]) + " --json");
  EXPECT_EQ(out["model_type"], g["model_type"]);
  EXPECT_EQ(out["dtype"], "float32");
  EXPECT_EQ(out["input_ids"], seq["input_ids"]);
  ASSERT_EQ(out["argmax"].size(), seq["per_position"].size());
  for (std::size_t t = 0; t < seq["per_position"].size(); ++t)
    EXPECT_EQ(out["argmax"][t], seq["per_position"][t][0]) << "position " << t;
  ASSERT_EQ(out["last_logits"].size(), seq["last_logits"].size());
  double worst = 0;
  for (std::size_t v = 0; v < seq["last_logits"].size(); ++v)
    worst = std::max(worst, std::abs(out["last_logits"][v].get<double>() - seq["last_logits"][v].get<double>()));
  EXPECT_LT(worst, tol);
}

TEST(ModelCommandsForward, WithoutJsonPrintsTheArgmaxesAndTheLastPositionsSummary) {
  const json seq = golden("gpt2-tiny")["sequences"][0];
  CliResult r = run_c2s("-q --threads 1 forward --model " + model("gpt2-tiny") + " --ids " + id_list(seq["input_ids"]));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 2u) << r.out;
  json argmax = json::array();
  for (const auto& p : seq["per_position"]) argmax.push_back(p[0]);
  EXPECT_NE(r.out.find("argmax per position: " + argmax.dump() + "\n"), std::string::npos) << r.out;
  const auto last = seq["per_position"].back();
  EXPECT_NE(r.out.find("last position: argmax " + std::to_string(last[0].get<std::int64_t>()) + ","), std::string::npos)
      << r.out;
}

TEST(ModelCommandsGenerate, GreedyTokenIdPromptsGiveTheGoldenContinuation) {
  const json g = golden("neox-tiny");
  const auto prompts = golden_prompts_file("neox_prompts.jsonl", g);
  // (Batch sizes and prefix sharing are the engine tests' business.)
  json out = run_ok("--json generate --model " + model("neox-tiny") + " --prompts " + prompts +
                    " --greedy --max-new-tokens 16 --batch-size 2");
  ASSERT_EQ(out["results"].size(), 3u);
  std::int64_t prompt_tokens = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    const json& line = out["results"][s];
    const json& seq = g["sequences"][s];
    EXPECT_EQ(line["index"], s);  // c2s's index, not the line's
    EXPECT_EQ(line["cell"], json(cell_name(s)));
    EXPECT_EQ(line["prompt_tokens"], seq["input_ids"].size());
    EXPECT_EQ(line["tokens"], seq["greedy"]) << "sequence " << s;
    EXPECT_EQ(line["finish_reason"], "length");  // the end-of-sequence id 0 does not come up
    EXPECT_TRUE(line["text"].is_string());       // neox-tiny has a tokenizer
    prompt_tokens += std::int64_t(seq["input_ids"].size());
  }
  const json& sum = out["summary"];
  EXPECT_EQ(sum["prompts"], 3);
  EXPECT_EQ(sum["prompt_tokens"], prompt_tokens);
  EXPECT_EQ(sum["new_tokens"], 48);
  EXPECT_EQ(sum["decode_tokens"], 45);
  EXPECT_EQ(sum["prefill_tokens"].get<std::int64_t>() + sum["shared_prefix_tokens"].get<std::int64_t>(), prompt_tokens);
  EXPECT_EQ(sum["dtype"], "float32");
}

TEST(ModelCommandsGenerate, RunsBlasKernelsTheCpuSupportsUnlessTheUserChose) {
  // Debian 12's OpenBLAS falls back to its SSE3 (Prescott) kernels on CPUs it
  // does not know; c2s-model then picks the AVX2/AVX-512 ones (compute_options).
  const json g = golden("neox-tiny");
  const auto prompts = golden_prompts_file("neox_prompts.jsonl", g);
  const std::string args = "--json generate --model " + model("neox-tiny") + " --prompts " + prompts +
                           " --greedy --max-new-tokens 2";
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = before ? before : "";
  ::unsetenv("OPENBLAS_CORETYPE");
  const json chosen = run_ok(args)["summary"];
  ::setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  const json kept = run_ok(args)["summary"];
  if (before) ::setenv("OPENBLAS_CORETYPE", saved.c_str(), 1); else ::unsetenv("OPENBLAS_CORETYPE");

  EXPECT_EQ(chosen["threads"], 1);
  EXPECT_EQ(kept["blas_kernels"], "Prescott");  // the user's choice stands
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd")) {
    EXPECT_TRUE(chosen["blas_kernels"] == "SkylakeX" || chosen["blas_kernels"] == "Cooperlake" ||
                chosen["blas_kernels"] == "SapphireRapids")
        << chosen["blas_kernels"];
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_TRUE(chosen["blas_kernels"] == "Haswell" || chosen["blas_kernels"] == "Zen") << chosen["blas_kernels"];
  }
}

TEST(ModelCommandsGenerate, StopsAtTheFoldersEndOfSequenceTokenAndWritesTheOutputWhole) {
  const json g = golden("gpt2-tiny");  // sequence 1 meets end-of-sequence (511) at its second token
  ASSERT_EQ(g["sequences"][1]["greedy_first_eos_index"], 1);
  const auto prompts = golden_prompts_file("gpt2_prompts.jsonl", g);
  const fs::path folder = out_dir("gpt2_out");
  const std::string out = (folder / "generated.jsonl").string();
  write_file("gpt2_out/generated.jsonl", "an older file, replaced\n");
  json summary = run_ok("--json generate --model " + model("gpt2-tiny") + " --prompts " + prompts +
                        " --max-new-tokens 16 --output " + out);
  EXPECT_EQ(summary["output"], out);
  EXPECT_FALSE(summary.contains("results"));
  EXPECT_EQ(entry_names(folder), std::vector<std::string>{"generated.jsonl"});  // no temporary left beside it
  auto lines = read_jsonl(out);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t s = 0; s < 3; ++s) {
    const json& seq = g["sequences"][s];
    const auto eos_at = seq["greedy_first_eos_index"].get<std::int64_t>();
    json expected = seq["greedy"];
    if (eos_at >= 0) expected.erase(expected.begin() + eos_at + 1, expected.end());
    EXPECT_EQ(lines[s]["tokens"], expected) << "sequence " << s;
    EXPECT_EQ(lines[s]["finish_reason"], eos_at >= 0 ? "eos" : "length") << "sequence " << s;
    EXPECT_FALSE(lines[s].contains("text"));  // no tokenizer
  }
  EXPECT_EQ(summary["new_tokens"], 16 + 2 + 16);
  // --ignore-eos runs on to the limit.
  json all = run_ok("--json generate --model " + model("gpt2-tiny") + " --prompts " + prompts +
                    " --max-new-tokens 16 --ignore-eos");
  EXPECT_EQ(all["results"][1]["tokens"], g["sequences"][1]["greedy"]);
  EXPECT_EQ(all["results"][1]["finish_reason"], "length");
}

TEST(ModelCommandsGenerate, SeededSamplingRepeatsForAnyBatchSize) {
  const json g = golden("neox-tiny-seq");
  const auto prompts = golden_prompts_file("seq_prompts.jsonl", g);
  auto sample = [&](const std::string& extra) {
    json out = run_ok("--json generate --model " + model("neox-tiny-seq") + " --prompts " + prompts +
                      " --do-sample --temperature 0.8 --top-k 0 --max-new-tokens 10 --ignore-eos" + extra);
    return tokens_of(out["results"]);
  };
  const auto a = sample(" --seed 7");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(sample(" --seed 7 --batch-size 1 --no-shared-prefix"), a);
  // Really sampled (the seed's effect on each draw is the engine tests' business).
  int differ_greedy = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_EQ(a[s].size(), 10u);
    differ_greedy += a[s] != g["sequences"][s]["greedy"];
  }
  EXPECT_GE(differ_greedy, 2);
}

TEST(ModelCommandsGenerate, AStopStringEndsTheTextAtTheFirstTokenThatCompletesIt) {
  const std::string prompt = "Cell sentence: CD3D CD3E CD2. The cell type is";
  json full = run_ok("--json generate --model " + model("neox-tiny") + " --prompt " + shell_quoted(prompt) +
                     " --max-new-tokens 16 --ignore-eos");
  const auto tokens = full["results"][0]["tokens"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(tokens.size(), 16u);
  // The texts of the first k tokens, decoded here with the same tokenizer.
  auto tokenizer = load_tokenizer(fs::path(model("neox-tiny")) / "tokenizer.json");
  auto text_of = [&](std::size_t k) {
    std::vector<TokenId> ids(tokens.begin(), tokens.begin() + std::ptrdiff_t(k));
    return tokenizer->decode(ids, true);
  };
  EXPECT_EQ(full["results"][0]["text"], json(text_of(16)));
  // A stop string of letters that first appears with token k (5 <= k < 16).
  std::string stop;
  std::size_t k = 5;
  for (; k < 16 && stop.empty(); ++k) {
    const std::string now = text_of(k);
    for (std::size_t len = 2; len <= 4 && stop.empty(); ++len) {
      if (now.size() < len) continue;
      const std::string tail = now.substr(now.size() - len);
      bool earlier = false;
      for (std::size_t j = 1; j < k; ++j) earlier = earlier || text_of(j).find(tail) != std::string::npos;
      if (std::all_of(tail.begin(), tail.end(), [](unsigned char c) { return std::isalnum(c); }) && !earlier)
        stop = tail;
    }
  }
  --k;
  ASSERT_FALSE(stop.empty()) << "no usable stop string in " << text_of(16);
  json cut = run_ok("--json generate --model " + model("neox-tiny") + " --prompt " + shell_quoted(prompt) +
                    " --max-new-tokens 16 --ignore-eos --stop " + shell_quoted(stop));
  const json& line = cut["results"][0];
  EXPECT_EQ(line["finish_reason"], "stop_string") << stop;
  EXPECT_EQ(line["tokens"], json(std::vector<std::int64_t>(tokens.begin(), tokens.begin() + std::ptrdiff_t(k))))
      << stop;
  EXPECT_EQ(line["text"], json(text_of(k)));
}

TEST(ModelCommandsGenerate, AFailedRunLeavesAnOlderOutputUntouchedAndNoTemporary) {
  const json g = golden("gpt2-tiny");
  const auto prompts = golden_prompts_file("gpt2_fail_prompts.jsonl", g);
  const fs::path folder = out_dir("kept_out");
  const std::string out = (folder / "results.jsonl").string();
  write_file("kept_out/results.jsonl", "older results\n");
  // --top-p is checked once the model is loaded, after the output was opened.
  CliResult r = run_c2s("-q --threads 1 generate --model " + model("gpt2-tiny") + " --prompts " + prompts +
                        " --do-sample --top-p 1.5 --output " + out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_EQ(slurp(out), "older results\n");
  EXPECT_EQ(entry_names(folder), std::vector<std::string>{"results.jsonl"});
}

// Bad input: exit code, exactly one `c2s: error:` line naming the problem,
// nothing on stdout, and for generate no file in the output folder.
struct BadRun {
  std::string name;
  std::string args;  // after `c2s -q --threads 1`; {out} = an output path, {dir} = the scratch folder
  int exit_code;
  std::string part;
};

// The case's name in test listings (not its bytes).
void PrintTo(const BadRun& c, std::ostream* os) { *os << c.name; }

class ModelCommandsBadInput : public ::testing::TestWithParam<BadRun> {};

std::string expand(std::string s, const std::string& key, const std::string& value) {
  for (std::size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

void expect_bad_run(const BadRun& c) {
  const fs::path folder = out_dir("bad_" + c.name);
  fs::create_directories(dir() / "empty_model");
  write_file("prompts_ok.jsonl", "{\"ids\": [1, 2, 3]}\n{\"ids\": [4, 5]}\n");
  write_file("prompts_bad_line.jsonl", "{\"ids\": [1, 2, 3]}\n{\"ids\": [4, 5]\n");
  write_file("prompts_bad_id.jsonl", "{\"ids\": [1, 2, 3]}\n{\"ids\": [4, 1024]}\n");
  write_file("prompts_no_ids.jsonl", "{\"ids\": []}\n");
  write_file("prompts_long.jsonl", json{{"ids", std::vector<int>(120, 5)}}.dump() + "\n");
  std::string args = expand(expand(c.args, "{out}", (folder / "out.jsonl").string()), "{dir}", dir().string());
  args = expand(args, "{seq}", model("neox-tiny-seq"));
  args = expand(args, "{gpt2}", model("gpt2-tiny"));
  CliResult r = run_c2s("-q --threads 1 " + args);
  EXPECT_EQ(r.exit_code, c.exit_code) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("c2s: error: ", 0), 0u) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(c.part), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(entry_names(folder).empty()) << "left behind: " << (entry_names(folder).empty() ? "" : entry_names(folder)[0]);
}

TEST_P(ModelCommandsBadInput, ExitsWithOneErrorLineAndWritesNothing) { expect_bad_run(GetParam()); }

TEST(ModelCommandsGenerate, BeyondGpt2PositionsIsOneErrorLine) {
  expect_bad_run({"beyond_gpt2_positions",
                  "generate --model {gpt2} --prompts {dir}/prompts_long.jsonl --max-new-tokens 10 --output {out}", 1,
                  "prompt 1: needs 129 positions, the model has 128"});
}

const BadRun kBadRuns[] = {
    {"missing_model", "forward --model {dir}/no_such_model --ids 1,2", 1, "no such model folder"},
    {"model_without_config", "forward --model {dir}/empty_model --ids 1,2", 1, "config.json"},
    {"ids_not_a_number", "forward --model {seq} --ids 5,x,7", 2, "--ids: 'x' is not a token id"},
    {"id_beyond_vocabulary", "forward --model {seq} --ids 5,1024", 1,
     "token id 1024 is outside the model's vocabulary of 1024"},
    {"unknown_dtype", "forward --model {seq} --ids 5 --dtype fp7", 2, "unknown dtype 'fp7'"},
    {"prompts_file_missing", "generate --model {seq} --prompts {dir}/no_such.jsonl --output {out}", 1,
     "no_such.jsonl: no such file"},
    {"malformed_jsonl_line", "generate --model {seq} --prompts {dir}/prompts_bad_line.jsonl --output {out}", 1,
     "prompts_bad_line.jsonl:2: not a JSON object"},
    {"jsonl_empty_ids", "generate --model {seq} --prompts {dir}/prompts_no_ids.jsonl --output {out}", 1,
     "prompts_no_ids.jsonl:1: \"ids\" must be a non-empty list"},
    {"jsonl_id_beyond_vocabulary", "generate --model {seq} --prompts {dir}/prompts_bad_id.jsonl --output {out}", 1,
     "prompt 2: token id 1024 is outside the model's vocabulary of 1024"},
    {"zero_temperature_sampling",
     "generate --model {seq} --prompts {dir}/prompts_ok.jsonl --do-sample --temperature 0 --output {out}", 2,
     "temperature must be positive"},
    {"top_p_above_one",
     "generate --model {seq} --prompts {dir}/prompts_ok.jsonl --do-sample --top-p 1.5 --output {out}", 2,
     "top-p must be in (0, 1]"},
    {"negative_max_new_tokens",
     "generate --model {seq} --prompts {dir}/prompts_ok.jsonl --max-new-tokens -1 --output {out}", 2,
     "max new tokens must be at least 1"},
    {"sample_and_greedy", "generate --model {seq} --prompts {dir}/prompts_ok.jsonl --do-sample --greedy --output {out}",
     2, "--do-sample and --greedy exclude each other"},
    {"empty_stop_string", "generate --model {seq} --prompts {dir}/prompts_ok.jsonl --stop '' --output {out}", 2,
     "a stop string must not be empty"},
    {"text_without_tokenizer", "generate --model {seq} --prompt 'B cell' --output {out}", 1, "no tokenizer"},
};

INSTANTIATE_TEST_SUITE_P(Cases, ModelCommandsBadInput, ::testing::ValuesIn(kBadRuns),
                         [](const ::testing::TestParamInfo<BadRun>& info) { return info.param.name; });

}  // namespace c2s
