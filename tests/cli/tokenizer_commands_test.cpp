// `c2s tokenize` and `c2s tokenizer build` run as a user would.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"
#include "data/sentence_store.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path dir() { return process_dir("c2s_tokenizer_commands"); }
std::string gemma() { return std::string(C2S_SHARED_DIR) + "/golden/models/gemma2-tiny"; }
const std::string S = "\xe2\x96\x81";  // "▁"

std::string write_file(const std::string& name, const std::string& text) {
  fs::path p = dir() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p.string();
}

// A small simulated store (labels cell_type, sample_id, condition).
std::string store() {
  static std::string s = [] {
    std::string h5 = (dir() / "sim.h5ad").string(), path = (dir() / "sim.c2s").string();
    EXPECT_EQ(run_c2s("-q simulate -o " + h5 + " -n 300 --genes 2000 --mean-genes 500 --seed 3").exit_code, 0);
    EXPECT_EQ(run_c2s("-q convert " + h5 + " -o " + path).exit_code, 0);
    return path;
  }();
  return s;
}

std::string prompts_file() {
  return write_file("prompts.json", R"({"model_input": [
      "The {num_genes} top genes of a {organism} cell:\n{cell_sentence}.\nIts cell type is:",
      "Cell 1:\n{cell_sentence}."],
    "response": ["{cell_type}."]})");
}

}  // namespace

TEST(TokenizerCommands, Help) {
  for (std::string sub : {"tokenize", "tokenizer build"}) {
    CliResult r = run_c2s(sub + " --help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
}

TEST(TokenizerCommands, TokenizeWithSentencePiece) {
  std::string input = write_file("in.txt",
                                 "Cell type: T cell. Genes: CD3E CD3D IL7R\n"
                                 "\"Cell 1:\\nCD3E<eos>\"\n"
                                 "\n"
                                 "not \"json\" at all\n");
  CliResult r = run_c2s("tokenize --tokenizer " + gemma(), input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  // The same ids as Python sentencepiece (tests/text/fixtures/sentencepiece).
  EXPECT_EQ(lines[0]["ids"], json::parse("[291,281,486,267,275,468,298,486,261,475,471,261,475,453,416,470,463]"));
  EXPECT_EQ(lines[0]["tokens"][1], S + "type");
  EXPECT_EQ(lines[0]["decoded"], "Cell type: T cell. Genes: CD3E CD3D IL7R");
  // A JSON string line is its text: the newline and the special token inside.
  EXPECT_EQ(lines[1]["decoded"], "Cell 1:\nCD3E<eos>");
  EXPECT_EQ(lines[1]["ids"].back(), 1);
  EXPECT_EQ(lines[1]["tokens"].back(), "<eos>");
  EXPECT_EQ(lines[2]["ids"], json::array());
  EXPECT_EQ(lines[3]["decoded"], "not \"json\" at all");
  // Keys in the documented order.
  EXPECT_EQ(r.out.substr(0, 7), "{\"ids\":");

  r = run_c2s("tokenize --tokenizer " + gemma() + " --add-special-tokens", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = json_lines(r.out);
  EXPECT_EQ(lines[0]["ids"][0], 2);
  EXPECT_EQ(lines[0]["decoded"], "<bos>Cell type: T cell. Genes: CD3E CD3D IL7R");
  EXPECT_EQ(lines[2]["ids"], json::parse("[2]"));
  r = run_c2s("tokenize --tokenizer " + gemma() + "/tokenizer.model --add-special-tokens --skip-special-tokens", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  lines = json_lines(r.out);
  EXPECT_EQ(lines[0]["decoded"], "Cell type: T cell. Genes: CD3E CD3D IL7R");
  EXPECT_EQ(lines[1]["decoded"], "Cell 1:\nCD3E");
}

TEST(TokenizerCommands, TokenizeRejectsBadInput) {
  std::string input = write_file("bad.txt", "fine\nalso fine\nbroken \xff here\nnever read\n");
  CliResult r = run_c2s("tokenize --tokenizer " + gemma(), input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "c2s: error: stdin line 3: invalid UTF-8 at byte 7\n");
  EXPECT_EQ(count_lines(r.out), 2u);  // the lines before it are answered

  r = run_c2s("tokenize --tokenizer " + (dir() / "nowhere").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nowhere: no such tokenizer file or model folder"), std::string::npos) << r.err;
  r = run_c2s("tokenize");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(TokenizerCommands, BuildGeneTokenizer) {
  std::string out = (dir() / "gene_tok").string();
  CliResult r = run_c2s("--json -q tokenizer build " + store() + " -o " + out + " --prompts " + prompts_file() +
                        " --label-column cell_type");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json summary = json::parse(r.out);
  SentenceStore s(store());
  EXPECT_EQ(summary["genes"], s.n_genes());
  EXPECT_EQ(summary["label_columns"], json::parse(R"(["cell_type"])"));
  std::set<std::string> types;
  for (std::size_t i = 0; i < s.obs().find("cell_type")->size(); ++i) types.insert(s.obs().find("cell_type")->text(i));
  EXPECT_EQ(summary["labels"], types.size());
  EXPECT_GT(summary["templates"], 3);  // the file's and the built-in sets'
  EXPECT_GT(summary["template_words"], 5);
  json vocab = json::parse(slurp(out + "/tokenizer.json"))["model"]["vocab"];
  EXPECT_EQ(summary["vocab_size"], vocab.size());
  for (const auto& gene : s.genes()) EXPECT_TRUE(vocab.contains(S + gene)) << gene;
  EXPECT_TRUE(vocab.contains(S + "Monocytes"));
  EXPECT_TRUE(vocab.contains(S + "Its"));
  EXPECT_FALSE(vocab.contains(S + "stim"));  // condition was not asked for
  for (const char* f : {"tokenizer_config.json", "special_tokens_map.json"}) EXPECT_TRUE(fs::exists(out + "/" + f));

  // Default label columns: every non-numeric obs column.
  r = run_c2s("--json -q tokenizer build " + store() + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["label_columns"], json::parse(R"(["cell_type","sample_id","condition"])"));
  EXPECT_TRUE(json::parse(slurp(out + "/tokenizer.json"))["model"]["vocab"].contains(S + "stim"));
}

// Waits on the tokenizer.json loader (hf_tokenizer.cpp).
TEST(TokenizerCommands, GeneTokenizerTokenizesPromptsExactly) {
  std::string out = (dir() / "gene_tok_prompts").string();
  ASSERT_EQ(run_c2s("-q tokenizer build " + store() + " -o " + out + " --prompts " + prompts_file()).exit_code, 0);
  SentenceStore s(store());
  std::string sentence = s.sentence(0, 50);
  std::string prompt = "The 50 top genes of a " + s.obs().find("sample_id")->text(0) + " cell:\n" + sentence +
                       ".\nIts cell type is: " + s.obs().find("cell_type")->text(0) + ".";
  std::string multi = "Cell 1:\n" + s.sentence(1, 20) + ".\nCell 2:\n" + s.sentence(2, 20) + ".";
  std::string input = write_file("prompts.txt", json(prompt).dump() + "\n" + json(multi).dump() + "\n" + sentence + "\n");
  CliResult r = run_c2s("tokenize --tokenizer " + out + " --add-special-tokens --skip-special-tokens", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["decoded"], prompt);
  EXPECT_EQ(lines[1]["decoded"], multi);
  EXPECT_EQ(lines[2]["decoded"], sentence);
  for (const auto& l : lines) {
    EXPECT_EQ(l["ids"][0], 2);
    for (const auto& id : l["ids"]) EXPECT_NE(id, 3) << l.dump();  // no <unk>
  }
  // One token per gene (plus BOS).
  EXPECT_EQ(lines[2]["ids"].size(), 51u);
}

TEST(TokenizerCommands, BuildRejectsBadInput) {
  std::string out = (dir() / "tok_bad").string();
  CliResult r = run_c2s("tokenizer build " + store() + " -o " + out + " --label-column no_such_column");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no obs column 'no_such_column' (columns: "), std::string::npos) << r.err;
  std::string bad_json = write_file("bad_prompts.json", "{\"model_input\": [\"a\",]}");
  r = run_c2s("tokenizer build " + store() + " -o " + out + " --prompts " + bad_json);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad_json + ": malformed JSON"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u);
  r = run_c2s("tokenizer build " + (dir() / "missing.c2s").string() + " -o " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(out));
  r = run_c2s("tokenizer build " + store());
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace c2s
