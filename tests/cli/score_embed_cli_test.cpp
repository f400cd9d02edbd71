// `c2s score` and `c2s embed` run as a user would on the golden models
// (neox-tiny has a tokenizer, gpt2-tiny takes token ids): outputs parse and
// agree with each other and with the reference, .npy files load in NumPy,
// and bad input is one error line with nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() { return process_dir("c2s_score_embed"); }
std::string model(const std::string& name) { return std::string(C2S_SHARED_DIR) + "/golden/models/" + name; }

std::string write_file(const std::string& name, const std::string& text) {
  fs::path p = dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

// Runs `args` expecting success; stdout as JSON lines.
std::vector<json> run_lines(const std::string& args) {
  CliResult r = run_c2s("-q --threads 2 " + args);
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  return json_lines(r.out);
}

// Expects exit `code` with one `c2s: error:` line containing `part`.
void expect_failure(const std::string& args, int code, const std::string& part) {
  SCOPED_TRACE(args);
  expect_clean_failure(run_c2s("-q --threads 2 " + args), part, code);
}

// Token ids of `text` (no special tokens) through `c2s tokenize`.
json token_ids(const std::string& text) {
  auto in = write_file("tokenize_in.txt", json(text).dump() + "\n");
  CliResult r = run_c2s("tokenize --tokenizer " + model("neox-tiny"), in);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out)["ids"];
}

}  // namespace

TEST(ScoreCommand, ScoresCandidatesFromAFileAndFromEachLineWithPassthroughFields) {
  auto prompts = write_file("score_prompts.jsonl",
                            R"({"model_input":"Cell sentence: CD3D CD3E.\nCell type:","response":"T cell.","cell_name":"c1"})"
                            "\n\n"
                            R"({"prompt":"The cell is a","candidates":["NK cell","monocyte"],"index":99})"
                            "\n");
  auto candidates = write_file("candidates.txt", "B cell.\r\nT cell.\n\nmonocyte.\n");
  auto out = (dir() / "scores.jsonl").string();
  json summary = run_json("--threads 2 score --model " + model("neox-tiny") + " --prompts " + prompts +
                          " --candidates " + candidates + " -o " + out + " --batch-size 2");
  EXPECT_EQ(summary["prompts"], 2);
  EXPECT_EQ(summary["candidates"], 5);
  EXPECT_EQ(summary["output"], out);
  EXPECT_EQ(summary["dtype"], "float32");
  auto lines = read_jsonl(out);
  ASSERT_EQ(lines.size(), 2u);

  const json& first = lines[0];
  EXPECT_EQ(first["index"], 0);
  EXPECT_EQ(first["cell_name"], "c1");
  EXPECT_EQ(first["response"], "T cell.");
  EXPECT_FALSE(first.contains("model_input"));
  ASSERT_EQ(first["scores"].size(), 3u);
  EXPECT_EQ(first["scores"][0]["candidate"], "B cell.");  // the carriage return is not part of it
  EXPECT_EQ(first["scores"][2]["candidate"], "monocyte.");
  double best = -1e300, best_mean = -1e300;
  std::string best_name, best_mean_name;
  for (const auto& s : first["scores"]) {
    const double ll = s["log_likelihood"].get<double>(), mean = s["mean_log_likelihood"].get<double>();
    EXPECT_LT(ll, 0);
    EXPECT_GT(s["tokens"].get<int>(), 0);
    EXPECT_NEAR(mean, ll / s["tokens"].get<double>(), 1e-12);
    if (ll > best) best = ll, best_name = s["candidate"];
    if (mean > best_mean) best_mean = mean, best_mean_name = s["candidate"];
  }
  EXPECT_EQ(first["best"], best_name);
  EXPECT_EQ(first["best_mean"], best_mean_name);

  const json& second = lines[1];
  EXPECT_EQ(second["index"], 1);  // c2s's index, not the line's
  EXPECT_FALSE(second.contains("candidates"));
  EXPECT_FALSE(second.contains("prompt"));
  ASSERT_EQ(second["scores"].size(), 2u);
  EXPECT_EQ(second["scores"][0]["candidate"], "NK cell");
  EXPECT_EQ(second["scores"][1]["candidate"], "monocyte");
}

TEST(ScoreCommand, CandidateTextIsTokenizedOnItsOwnWithOrWithoutASpace) {
  const std::string prompt = "Cell type:";
  json ids_plain = token_ids("B cell"), ids_spaced = token_ids(" B cell");
  ASSERT_NE(ids_plain, ids_spaced);
  auto prompts = write_file("space_prompts.jsonl", json{{"prompt", prompt}, {"candidates", {"B cell", ids_plain, ids_spaced}}}.dump() +
                                                       "\n" + json{{"prompt", prompt + " "}, {"candidates", {"B cell", ids_plain}}}.dump() + "\n");
  // none (default): the text as written, so the same as its ids tokenized alone.
  auto none = run_lines("score --model " + model("neox-tiny") + " --prompts " + prompts);
  ASSERT_EQ(none.size(), 2u);
  // (Equal up to float rounding: rows of one batch may round differently.)
  auto ll = [](const json& line, int c) { return line["scores"][c]["log_likelihood"].get<double>(); };
  EXPECT_NEAR(ll(none[0], 0), ll(none[0], 1), 1e-5);
  EXPECT_GT(std::abs(ll(none[0], 0) - ll(none[0], 2)), 0.01);
  EXPECT_EQ(none[0]["scores"][1]["candidate"], ids_plain);  // ids are echoed as given
  // auto: one space before it, unless the prompt already ends with one.
  auto spaced = run_lines("score --model " + model("neox-tiny") + " --prompts " + prompts + " --candidate-space auto");
  EXPECT_NEAR(ll(spaced[0], 0), ll(spaced[0], 2), 1e-5);
  EXPECT_NEAR(ll(spaced[1], 0), ll(spaced[1], 1), 1e-5);
  // --append-eos adds the end-of-sequence token (id 0 here) to each candidate.
  auto eos = run_lines("score --model " + model("neox-tiny") + " --prompt 'Cell type:' --candidate 'B cell' --append-eos");
  ASSERT_EQ(eos.size(), 1u);
  EXPECT_EQ(eos[0]["scores"][0]["tokens"].get<std::size_t>(), ids_plain.size() + 1);
  EXPECT_LT(ll(eos[0], 0), ll(none[0], 0));
}

TEST(ScoreCommand, TokenIdsOnAModelWithoutTokenizerFollowTheChainRule) {
  // log p(4, 5 | 1 2 3) = log p(4 | 1 2 3) + log p(5 | 1 2 3 4).
  auto prompts = write_file("ids_prompts.jsonl", R"({"ids":[1,2,3],"candidates":[[4,5],[4],[7,8,9,10]]})"
                                                 "\n"
                                                 R"({"ids":[1,2,3,4],"candidates":[[5]]})"
                                                 "\n");
  for (std::string batch : {"1", "2", "16"}) {
    auto lines = run_lines("score --model " + model("gpt2-tiny") + " --prompts " + prompts + " --batch-size " + batch);
    ASSERT_EQ(lines.size(), 2u);
    const double both = lines[0]["scores"][0]["log_likelihood"], first = lines[0]["scores"][1]["log_likelihood"],
                 second = lines[1]["scores"][0]["log_likelihood"];
    EXPECT_NEAR(both, first + second, 1e-4) << "batch " << batch;
    EXPECT_EQ(lines[0]["scores"][2]["tokens"], 4);
  }
  // stdout with --json: one document holding the summary and the results.
  CliResult r = run_c2s("--json -q score --model " + model("gpt2-tiny") + " --prompts " + prompts);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["summary"]["prompts"], 2);
  EXPECT_EQ(doc["summary"]["candidate_tokens"], 2 + 1 + 4 + 1);
  EXPECT_EQ(doc["results"].size(), 2u);
}

TEST(ScoreCommand, BadInputIsOneErrorLineAndWritesNothing) {
  const std::string gpt2 = " --model " + model("gpt2-tiny"), neox = " --model " + model("neox-tiny");
  // The second line has no candidates of its own: it takes --candidate's text.
  auto ids = write_file("mixed_ids.jsonl", R"({"ids":[1,2,3],"candidates":[[4]]})"
                                           "\n"
                                           R"({"ids":[1,2,3]})"
                                           "\n");
  auto out = (dir() / "never.jsonl").string();
  expect_failure("score --model " + (dir() / "missing").string() + " --prompt x --candidate y -o " + out, 1, "missing");
  expect_failure("score" + gpt2 + " --prompts " + write_file("bad.jsonl", R"({"ids":[1],"candidates":[[4]]})" "\n{oops\n") + " -o " + out,
                 1, "bad.jsonl:2: not a JSON object");
  expect_failure("score" + gpt2 + " --prompts " + write_file("empty_c.jsonl", R"({"ids":[1],"candidates":[]})" "\n") + " -o " + out, 1,
                 "prompt 1: \"candidates\" must be a non-empty list");
  expect_failure("score" + gpt2 + " --prompts " + write_file("blank_c.jsonl", R"({"ids":[1],"candidates":[[4],""]})" "\n") + " -o " + out,
                 1, "prompt 1 candidate 2: each candidate must be a non-empty string");
  expect_failure("score" + gpt2 + " --prompts " + write_file("no_c.jsonl", R"({"ids":[1]})" "\n") + " -o " + out, 1,
                 "prompt 1: no candidates");
  expect_failure("score" + neox + " --prompt x --candidates " + write_file("blank.txt", "\n\n") + " -o " + out, 1, "no candidates");
  expect_failure("score" + gpt2 + " --prompts " + ids + " --candidate word -o " + out, 1, "prompt 2 candidate 1: the model folder has no tokenizer");
  expect_failure("score" + gpt2 + " --prompt x --candidate word -o " + out, 1, "no tokenizer");
  expect_failure("score" + gpt2 + " --prompts " + write_file("vocab.jsonl", R"({"ids":[1],"candidates":[[4],[512]]})" "\n") + " -o " + out,
                 1, "prompt 1 candidate 2: token id 512 is outside the model's vocabulary of 512");
  expect_failure("score" + gpt2 + " --prompts " + write_file("long.jsonl", json{{"ids", std::vector<int>(128, 1)}, {"candidates", {{4, 5}}}}.dump() + "\n") +
                     " -o " + out,
                 1, "prompt 1 candidate 1: needs 129 positions, the model has 128");
  expect_failure("score" + neox + " --prompt x --candidates " + write_file("utf8.txt", "ok\nbad \xff\n") + " -o " + out, 1,
                 "prompt 1 candidate 2: ");
  expect_failure("score" + neox + " --prompt x --candidate a --candidates " + write_file("c.txt", "b\n"), 2, "not both");
  expect_failure("score" + neox + " --prompt x --candidate ''", 2, "must not be empty");
  expect_failure("score" + neox + " --prompt x --candidate a --candidate-space always", 2, "candidate-space");
  expect_failure("score" + neox + " --candidate a", 2, "exactly one of --prompt and --prompts");
  expect_failure("score" + neox + " --prompt x --candidate a -o " + (dir() / "no_such_dir" / "o.jsonl").string(), 1, "does not exist");
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(dir())) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST(EmbedCommand, NpyAndJsonlHoldTheSameValuesAndMatchTheReference) {
  json golden = json::parse(slurp(model("neox-tiny") + "/golden.json"));
  std::string text;
  for (const auto& seq : golden["sequences"]) text += json{{"ids", seq["input_ids"]}, {"cell", seq["input_ids"].size()}}.dump() + "\n";
  auto prompts = write_file("embed_prompts.jsonl", text);
  auto npy = (dir() / "emb.npy").string(), jsonl = (dir() / "emb.jsonl").string();
  json summary = run_json("--threads 2 embed --model " + model("neox-tiny") + " --prompts " + prompts + " -o " + npy);
  EXPECT_EQ(summary["prompts"], 3);
  EXPECT_EQ(summary["hidden_size"], 64);
  EXPECT_EQ(summary["tokens"], 5 + 17 + 40);
  EXPECT_EQ(summary["format"], "npy");
  run_json("--threads 2 embed --model " + model("neox-tiny") + " --prompts " + prompts + " -o " + jsonl + " --batch-size 1");
  auto lines = read_jsonl(jsonl);
  ASSERT_EQ(lines.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i]["index"], i);
    EXPECT_EQ(lines[i]["cell"], golden["sequences"][i]["input_ids"].size());  // passed through
    EXPECT_FALSE(lines[i].contains("ids"));
    ASSERT_EQ(lines[i]["embedding"].size(), 64u);
    double diff = 0;
    for (std::size_t k = 0; k < 64; ++k)
      diff = std::max(diff, std::abs(lines[i]["embedding"][k].get<double>() - golden["sequences"][i]["hidden_mean"][k].get<double>()));
    EXPECT_LT(diff, 1e-4) << "prompt " << i;
  }
  // NumPy reads the .npy (batched) and agrees with the JSON lines (one at a time).
  EXPECT_EQ(run_python("import json, numpy as np\n"
                       "a = np.load('" + npy + "')\n"
                       "assert a.shape == (3, 64) and a.dtype == np.float32, (a.shape, a.dtype)\n"
                       "b = np.array([json.loads(l)['embedding'] for l in open('" + jsonl + "')], dtype=np.float32)\n"
                       "assert np.abs(a - b).max() < 1e-5, np.abs(a - b).max()\n"),
            0);
  // The .npy header is padded to 64 bytes, as numpy writes it.
  std::string bytes = slurp(npy);
  ASSERT_GT(bytes.size(), 10u);
  const std::size_t header = 10 + std::size_t((unsigned char)bytes[8]) + 256 * std::size_t((unsigned char)bytes[9]);
  EXPECT_EQ(header % 64, 0u);
  EXPECT_EQ(bytes.size(), header + 3 * 64 * 4);
}

TEST(EmbedCommand, LastTokenPoolingTextPromptsAndStdout) {
  auto prompts = write_file("embed_text.jsonl", R"({"prompt":"Cell sentence: CD3D CD3E CD2."})"
                                                "\n"
                                                R"({"model_input":"Cell type:"})"
                                                "\n");
  auto mean = run_lines("embed --model " + model("neox-tiny") + " --prompts " + prompts);
  auto last = run_lines("embed --model " + model("neox-tiny") + " --prompts " + prompts + " --pooling last");
  ASSERT_EQ(mean.size(), 2u);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_NE(mean[0]["embedding"], last[0]["embedding"]);
  // A one-prompt run gives the same vector as the batch (padding never counts).
  auto alone = run_lines("embed --model " + model("neox-tiny") + " --prompt 'Cell type:' --pooling last");
  ASSERT_EQ(alone.size(), 1u);
  for (std::size_t k = 0; k < 64; ++k)
    EXPECT_NEAR(alone[0]["embedding"][k].get<double>(), last[1]["embedding"][k].get<double>(), 1e-5);
  // gpt2-tiny takes ids; --json on stdout wraps summary and results.
  CliResult r = run_c2s("--json -q embed --model " + model("gpt2-tiny") + " --prompts " +
                        write_file("embed_ids.jsonl", "{\"ids\":[1,2,3]}\n{\"ids\":[7]}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json doc = json::parse(r.out);
  EXPECT_EQ(doc["summary"]["prompts"], 2);
  EXPECT_EQ(doc["summary"]["pooling"], "mean");
  ASSERT_EQ(doc["results"].size(), 2u);
  EXPECT_EQ(doc["results"][1]["embedding"].size(), 64u);
}

TEST(EmbedCommand, BadInputIsOneErrorLineAndWritesNothing) {
  const std::string neox = " --model " + model("neox-tiny"), gpt2 = " --model " + model("gpt2-tiny");
  auto out = (dir() / "never.npy").string();
  expect_failure("embed" + neox + " --prompt x --pooling max -o " + out, 2, "unknown pooling 'max'");
  expect_failure("embed" + neox + " --prompt x -o " + (dir() / "e.txt").string(), 2, "must end in .npy, .jsonl or .h5ad");
  expect_failure("embed" + gpt2 + " --prompt x -o " + out, 1, "no tokenizer");
  expect_failure("embed --model " + (dir() / "missing").string() + " --prompt x -o " + out, 1, "missing");
  expect_failure("embed" + gpt2 + " --prompts " + write_file("e_bad.jsonl", "{\"ids\":[1]}\n[1,2]\n") + " -o " + out, 1,
                 "e_bad.jsonl:2: not a JSON object");
  expect_failure("embed" + gpt2 + " --prompts " + write_file("e_vocab.jsonl", "{\"ids\":[1]}\n{\"ids\":[600]}\n") + " -o " + out, 1,
                 "outside the model's vocabulary of 512");
  expect_failure("embed" + gpt2 + " --prompt x -o " + (dir() / "no_such_dir" / "e.npy").string(), 1, "does not exist");
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace c2s
