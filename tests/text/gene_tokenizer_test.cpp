// The gene-level tokenizer: one token per gene of a store, exact round trips,
// and Hugging Face compatibility through a committed fixture
// (fixtures/gene_tokenizer: inputs, the tokenizer c2s built from them, and
// the outputs of the Rust `tokenizers` library on it, see make_expected.js).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "data/conversion.hpp"
#include "data/dense_test_matrix.hpp"
#include "data/sentence_store.hpp"
#include "test_support.hpp"
#include "text/gene_tokenizer.hpp"
#include "text/tokenizer.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;
using Words = std::vector<std::string>;

namespace {

const std::string S = "\xe2\x96\x81";  // "▁"

fs::path fixture_dir() { return fs::path(C2S_SOURCE_DIR) / "tests/text/fixtures/gene_tokenizer"; }


json fixture_inputs() { return json::parse(slurp(fixture_dir() / "inputs.json")); }

GeneTokenizerInputs inputs_of(const json& j) {
  std::vector<PromptTemplate> templates;
  for (const auto& t : j["templates"].get<Words>()) templates.emplace_back(t, "fixture template");
  return {j["genes"].get<Words>(), j["labels"].get<Words>(), templates};
}

std::vector<json> expected_cases() {
  std::vector<json> out;
  std::ifstream in(fixture_dir() / "expected.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

json vocab_of(const fs::path& folder) { return json::parse(slurp(folder / "tokenizer.json"))["model"]["vocab"]; }

// A store whose genes have every awkward shape: dashes, dots, digits, '+'.
std::string tricky_store(const fs::path& dir) {
  testing_support::DenseTestMatrix m(
      {{5, 1, 0, 1, 2, 3, 4, 1}, {0, 3, 3, 1, 0, 2, 1, 1}, {1, 1, 1, 1, 1, 1, 1, 1}},
      {"HLA-DRA", "RP11-34P13.7", "mt-co1", "CD14+", "B2M", "IGHV3-30-3", "AC000061.1", "7SK"});
  Column type;
  type.name = "cell_type";
  type.kind = Column::Kind::Categorical;
  type.categories = {"CD14+ Monocytes", "Dendritic cells (plasmacytoid)"};
  type.codes = {0, 1, -1};
  m.mutable_obs().columns = {type};
  ConvertOptions o;
  o.preprocess.min_genes = 1;
  o.preprocess.min_cells = 1;
  std::string path = (dir / "tricky.c2s").string();
  convert_to_store(m, path, o);
  return path;
}

GeneTokenizerInputs store_inputs(const SentenceStore& store) {
  GeneTokenizerInputs in;
  in.genes = store.genes();
  const Column* c = store.obs().find("cell_type");
  std::set<std::string> labels;
  for (std::size_t i = 0; i < c->size(); ++i)
    if (!c->text(i).empty()) labels.insert(c->text(i));
  in.labels.assign(labels.begin(), labels.end());
  for (const char* t : {"The top {num_genes} genes of a {organism} cell:\n{cell_sentence}.\nIts cell type is:",
                        "{cell_type}.", "Cell 1:\n{cell_sentence}."})
    in.templates.emplace_back(t, "test template");
  return in;
}

}  // namespace

TEST(GeneTokenizer, SplitsTextIntoWords) {
  EXPECT_EQ(gene_tokenizer_words(""), Words{});
  EXPECT_EQ(gene_tokenizer_words("B2M"), Words{S + "B2M"});
  EXPECT_EQ(gene_tokenizer_words("CD3E HLA-DRA B2M."), (Words{S + "CD3E", S + "HLA-DRA", S + "B2M", "."}));
  EXPECT_EQ(gene_tokenizer_words("RP11-34P13.7. MT-CO1, CD14+;"),
            (Words{S + "RP11-34P13.7", ".", S + "MT-CO1", ",", S + "CD14+", ";"}));
  // Every word after a newline or an opening bracket carries the space too.
  EXPECT_EQ(gene_tokenizer_words("Cell 1:\nCD3E"), (Words{S + "Cell", S + "1", ":", "\n", S + "CD3E"}));
  EXPECT_EQ(gene_tokenizer_words("(CD14+) [B2M]."), (Words{S + "(", S + "CD14+", ")", S + "[", S + "B2M", "]", "."}));
  EXPECT_EQ(gene_tokenizer_words("200 genes"), (Words{S + "2", "0", "0", S + "genes"}));
  EXPECT_EQ(gene_tokenizer_words("7SK 3.5"), (Words{S + "7SK", S + "3.5"}));
  // Extra whitespace: spaces of their own, no space after a newline before a newline.
  EXPECT_EQ(gene_tokenizer_words(" a\n\nb  c\n"), (Words{S, S + "a", "\n", "\n", S + "b", S, S + "c", "\n"}));
  EXPECT_EQ(gene_tokenizer_words("a\tb\r\nc"), (Words{S + "a", "\t", S + "b", "\r", "\n", S + "c"}));
}

TEST(GeneTokenizer, TemplateLiteralParts) {
  auto parts = [](const char* t) { return PromptTemplate(t, "test").literal_parts(); };
  EXPECT_EQ(parts("Genes: {cell_sentence}.\nType:"), (Words{"Genes: ", ".\nType:"}));
  EXPECT_EQ(parts("a {organism} b {{y}} {tissue}"), (Words{"a ", " b {y} "}));
  EXPECT_EQ(parts("{cell_type}."), Words{"."});
}

TEST(GeneTokenizer, EveryStoreGeneIsOneToken) {
  ScratchDir dir;
  SentenceStore store(tricky_store(dir.path()));
  ASSERT_EQ(store.genes().size(), 8u);
  GeneTokenizerSummary s = write_gene_tokenizer(store_inputs(store), dir.path() / "tok");
  EXPECT_EQ(s.genes, 8u);
  json vocab = vocab_of(dir.path() / "tok");
  EXPECT_EQ(vocab.size(), s.vocab_size);
  for (const auto& gene : store.genes()) {
    EXPECT_EQ(gene_tokenizer_words(gene), Words{S + gene});
    EXPECT_TRUE(vocab.contains(S + gene)) << gene;
  }
  EXPECT_TRUE(vocab.contains(S + "MT-CO1"));  // store genes are upper-cased
  for (const char* w : {"<pad>", "<eos>", "<bos>", "<unk>"}) EXPECT_TRUE(vocab.contains(w));
  EXPECT_EQ(vocab["<pad>"], 0);
  EXPECT_EQ(vocab["<eos>"], 1);
  EXPECT_EQ(vocab["<bos>"], 2);
  EXPECT_EQ(vocab["<unk>"], 3);
  for (const std::string& w : Words{"\n", ".", S + ".", ":", S + "0", "9", S + "Monocytes", S + "plasmacytoid", S + "type"})
    EXPECT_TRUE(vocab.contains(w)) << w;
  EXPECT_FALSE(vocab.contains(S + "{cell_sentence}"));
  // Ids are 0..n-1, each once.
  std::set<int> ids;
  for (const auto& [w, id] : vocab.items()) ids.insert(id.get<int>());
  EXPECT_EQ(ids.size(), vocab.size());
  EXPECT_EQ(*ids.rbegin(), int(vocab.size()) - 1);
}

// Waits on the tokenizer.json loader (hf_tokenizer.cpp).
TEST(GeneTokenizer, EncodesGenesAsOneTokenAndRoundTrips) {
  ScratchDir dir;
  SentenceStore store(tricky_store(dir.path()));
  write_gene_tokenizer(store_inputs(store), dir.path() / "tok");
  auto tok = load_tokenizer(dir.path() / "tok");
  EXPECT_EQ(tok->special_ids().bos, 2);
  EXPECT_EQ(tok->special_ids().eos, 1);
  EXPECT_EQ(tok->special_ids().pad, 0);
  EXPECT_EQ(tok->special_ids().unk, 3);
  for (const auto& gene : store.genes())
    for (const std::string& text : {gene, " " + gene, "Cell 1:\n" + gene, gene + ".", "(" + gene + ")"}) {
      std::vector<TokenId> ids = tok->encode(text, false);
      EXPECT_EQ(std::count(ids.begin(), ids.end(), *tok->token_to_id(S + gene)), 1) << text;
      EXPECT_EQ(std::count(ids.begin(), ids.end(), 3), 0) << text;
      EXPECT_EQ(tok->decode(ids, false), text);
    }
  std::string sentence;
  for (std::int64_t c = 0; c < store.n_cells(); ++c) {
    sentence = store.sentence(c);
    std::string prompt = "The top 8 genes of a cell:\n" + sentence + ".\nIts cell type is: CD14+ Monocytes.";
    std::vector<TokenId> ids = tok->encode(prompt, true);
    EXPECT_EQ(ids.front(), 2);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 3), 0) << prompt;
    EXPECT_EQ(tok->decode(ids, true), prompt);
    // One token per gene: the sentence costs exactly its number of genes.
    auto genes_only = tok->encode(sentence, false);
    EXPECT_EQ(genes_only.size(), std::size_t(std::count(sentence.begin(), sentence.end(), ' ') + 1));
  }
  std::string multi = "Cell 1:\n" + store.sentence(0) + ".\nCell 2:\n" + store.sentence(1) + ".";
  EXPECT_EQ(tok->decode(tok->encode(multi, true), true), multi);
}

TEST(GeneTokenizer, RejectsGenesThatCannotBeOneToken) {
  ScratchDir dir;
  GeneTokenizerInputs in;
  in.genes = {"FINE", "ENDS.", "TWO WORDS", "123", "", "ALSO-FINE"};
  expect_error([&] { write_gene_tokenizer(in, dir.path() / "tok"); }, "4 gene name(s) cannot be one token");
  expect_error([&] { write_gene_tokenizer(in, dir.path() / "tok"); }, "'ENDS.', 'TWO WORDS', '123', ''");
  EXPECT_FALSE(fs::exists(dir.path() / "tok"));
  in.genes = {"BAD\xff"};
  expect_error([&] { write_gene_tokenizer(in, dir.path() / "tok"); }, "invalid UTF-8");
}

TEST(GeneTokenizer, WritesTheFolderAtomically) {
  ScratchDir dir;
  GeneTokenizerInputs in;
  in.genes = {"B2M", "CD74"};
  fs::path out = dir.path() / "tok";
  write_gene_tokenizer(in, out);
  EXPECT_EQ(dir.entries(), 1u);  // no temporary left beside it
  in.genes.push_back("MALAT1");
  GeneTokenizerSummary s = write_gene_tokenizer(in, out);  // a tokenizer folder is replaced
  EXPECT_TRUE(vocab_of(out).contains(S + "MALAT1"));
  EXPECT_EQ(vocab_of(out).size(), s.vocab_size);
  EXPECT_EQ(dir.entries(), 1u);
  json config = json::parse(slurp(out / "tokenizer_config.json"));
  EXPECT_EQ(config["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_EQ(config["clean_up_tokenization_spaces"], false);
  EXPECT_EQ(config["add_bos_token"], true);
  EXPECT_EQ(config["add_eos_token"], false);
  json map = json::parse(slurp(out / "special_tokens_map.json"));
  EXPECT_EQ(map["pad_token"], "<pad>");
  // ... but never a folder holding anything else (a model's weights).
  fs::create_directories(dir.path() / "model");
  std::ofstream(dir.path() / "model/model.safetensors") << "weights";
  expect_error([&] { write_gene_tokenizer(in, dir.path() / "model"); }, "holds other files (model.safetensors)");
  EXPECT_TRUE(fs::exists(dir.path() / "model/model.safetensors"));
  expect_error([&] { write_gene_tokenizer(in, dir.path() / "missing/tok"); }, "does not exist");
}

// The committed tokenizer is what c2s builds from the committed inputs,
// byte for byte (C2S_UPDATE_FIXTURES=1 rewrites it; see make_expected.js).
TEST(GeneTokenizerFixture, IsRebuiltByteForByte) {
  ScratchDir dir;
  fs::path built = dir.path() / "tokenizer";
  write_gene_tokenizer(inputs_of(fixture_inputs()), built);
  fs::path committed = fixture_dir() / "tokenizer";
  if (const char* update = std::getenv("C2S_UPDATE_FIXTURES"); update && std::string(update) == "1") {
    fs::remove_all(committed);
    fs::copy(built, committed);
    GTEST_SKIP() << "rewrote " << committed << "; now run make_expected.js";
  }
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    ASSERT_TRUE(fs::exists(committed / file)) << file;
    EXPECT_TRUE(slurp(built / file) == slurp(committed / file)) << file << " differs from the committed fixture";
  }
}

// The library's ids follow from c2s's words and the vocabulary alone: the
// normalizer and pre-tokenizer c2s uses to build the vocabulary are the
// ones the Rust library runs.
TEST(GeneTokenizerFixture, WordsGiveTheLibrarysIds) {
  json vocab = vocab_of(fixture_dir() / "tokenizer");
  std::vector<json> cases = expected_cases();
  ASSERT_EQ(cases.size(), fixture_inputs()["samples"].size());
  std::size_t round_trips = 0;
  for (const json& c : cases) {
    const std::string text = c["text"];
    std::vector<TokenId> ids;
    std::vector<std::string> tokens;
    // Literal special tokens are cut out before the normalizer (added tokens).
    std::string rest = text;
    auto emit_words = [&](const std::string& part) {
      for (const auto& w : gene_tokenizer_words(part)) {
        ids.push_back(vocab.contains(w) ? vocab[w].get<TokenId>() : 3);
        tokens.push_back(vocab.contains(w) ? w : "<unk>");
      }
    };
    for (;;) {
      std::size_t best = std::string::npos, len = 0;
      TokenId id = 0;
      for (TokenId s = 0; s < 4; ++s) {
        std::string special = std::vector<std::string>{"<pad>", "<eos>", "<bos>", "<unk>"}[std::size_t(s)];
        std::size_t at = rest.find(special);
        if (at < best) best = at, len = special.size(), id = s;
      }
      if (best == std::string::npos) break;
      emit_words(rest.substr(0, best));
      ids.push_back(id);
      tokens.push_back(rest.substr(best, len));
      rest = rest.substr(best + len);
    }
    emit_words(rest);
    EXPECT_EQ(ids, c["ids"].get<std::vector<TokenId>>()) << text;
    EXPECT_EQ(tokens, c["tokens"].get<Words>()) << text;
    round_trips += c["round_trip"].get<bool>();
  }
  // Every sample made of known words, spaces, newlines and punctuation
  // comes back exactly (the others hold unknown words or special tokens).
  EXPECT_EQ(round_trips, cases.size() - 3);
}

// Waits on the tokenizer.json loader (hf_tokenizer.cpp).
TEST(GeneTokenizerFixture, EncodesAndDecodesAsTheLibrary) {
  auto tok = load_tokenizer(fixture_dir() / "tokenizer");
  for (const json& c : expected_cases()) {
    const std::string text = c["text"];
    std::vector<TokenId> ids = tok->encode(text, false);
    EXPECT_EQ(ids, c["ids"].get<std::vector<TokenId>>()) << text;
    std::vector<std::string> tokens;
    for (TokenId id : ids) tokens.push_back(tok->id_to_token(id));
    EXPECT_EQ(tokens, c["tokens"].get<Words>()) << text;
    std::vector<TokenId> with = tok->encode(text, true);
    EXPECT_EQ(with, c["ids_with_special"].get<std::vector<TokenId>>()) << text;
    EXPECT_EQ(tok->decode(with, false), c["decoded"].get<std::string>()) << text;
    EXPECT_EQ(tok->decode(with, true), c["decoded_skip_special"].get<std::string>()) << text;
  }
}

}  // namespace c2s
