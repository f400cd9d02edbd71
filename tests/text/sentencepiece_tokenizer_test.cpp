// The SentencePiece tokenizer on Gemma-2's tokenizer.model (gemma2-tiny):
// the same ids, pieces and decoded text as Python sentencepiece
// (fixtures/sentencepiece, made by its make_expected.py), and added and
// special tokens as transformers' GemmaTokenizer treats them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/thread_pool.hpp"
#include "test_support.hpp"
#include "text/sentencepiece_tokenizer.hpp"
#include "text/tokenizer.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path gemma_folder() { return fs::path(C2S_SHARED_DIR) / "golden/models/gemma2-tiny"; }
fs::path gemma_model() { return gemma_folder() / "tokenizer.model"; }

std::vector<json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::vector<json> fixture() {
  return read_jsonl(fs::path(C2S_SOURCE_DIR) / "tests/text/fixtures/sentencepiece/gemma2_tiny.jsonl");
}

std::vector<TokenId> concat(std::initializer_list<std::vector<TokenId>> parts) {
  std::vector<TokenId> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct ThreadsGuard {
  ~ThreadsGuard() { ThreadPool::set_default_threads(0); }
};

}  // namespace

TEST(SentencePieceTokenizer, EncodesAsPythonSentencePiece) {
  auto tok = load_sentencepiece_tokenizer(gemma_model());
  std::size_t checked = 0;
  for (const json& r : fixture()) {
    if (!r.contains("text")) continue;
    const std::string text = r["text"];
    std::vector<TokenId> ids = tok->encode(text, false);
    EXPECT_EQ(ids, r["ids"].get<std::vector<TokenId>>()) << text;
    std::vector<std::string> pieces;
    for (TokenId id : ids) pieces.push_back(tok->id_to_token(id));
    EXPECT_EQ(pieces, r["pieces"].get<std::vector<std::string>>()) << text;
    EXPECT_EQ(tok->decode(ids, false), r["decoded"].get<std::string>()) << text;
    EXPECT_EQ(tok->decode(ids, true), r["decoded"].get<std::string>()) << text;
    ++checked;
  }
  EXPECT_GE(checked, 19u);
}

TEST(SentencePieceTokenizer, DecodesAsPythonSentencePiece) {
  auto tok = load_sentencepiece_tokenizer(gemma_model());
  std::size_t checked = 0;
  for (const json& r : fixture()) {
    if (!r.contains("decode_ids")) continue;
    auto ids = r["decode_ids"].get<std::vector<TokenId>>();
    // SentencePiece writes <unk> as " ⁇ "; transformers (and c2s) as "<unk>".
    if (std::find(ids.begin(), ids.end(), 3) != ids.end()) continue;
    // Control pieces decode to nothing in SentencePiece, as skip_special_tokens does.
    EXPECT_EQ(tok->decode(ids, true), r["decoded"].get<std::string>()) << r.dump();
    ++checked;
  }
  EXPECT_EQ(checked, 6u);
}

TEST(SentencePieceTokenizer, ReproducesTheGoldenInputIds) {
  // golden.json: input_ids = [bos] + SentencePiece ids of the text, cut to
  // the listed length (the last text repeated when too short).
  std::ifstream in(gemma_folder() / "golden.json");
  json golden = json::parse(in);
  auto tok = load_tokenizer(gemma_folder());
  for (std::size_t i = 0; i < 3; ++i) {
    auto expected = golden["sequences"][i]["input_ids"].get<std::vector<TokenId>>();
    std::vector<TokenId> ids = tok->encode(golden["texts"][i].get<std::string>(), true);
    while (ids.size() < expected.size()) {
      auto more = tok->encode(golden["texts"][i].get<std::string>(), false);
      ids.insert(ids.end(), more.begin(), more.end());
    }
    ids.resize(expected.size());
    EXPECT_EQ(ids, expected) << i;
  }
}

TEST(SentencePieceTokenizer, SpecialTokensAsTransformers) {
  auto tok = load_tokenizer(gemma_folder());
  EXPECT_EQ(tok->vocab_size(), 512u);
  const std::string text = "Cell type: T cell.";
  std::vector<TokenId> plain = tok->encode(text, false);
  // Gemma: add_bos_token true, add_eos_token false.
  EXPECT_EQ(tok->encode(text, true), concat({{2}, plain}));
  EXPECT_EQ(tok->encode("", true), std::vector<TokenId>{2});
  // Special tokens written in the text are matched before SentencePiece sees it.
  EXPECT_EQ(tok->encode("Cell<eos> T<pad>", false), concat({tok->encode("Cell", false), {1}, tok->encode(" T", false), {0}}));
  EXPECT_EQ(tok->encode("<bos><bos>", false), (std::vector<TokenId>{2, 2}));
  // ...but not a prefix of one.
  EXPECT_EQ(tok->encode("<bo", false), (std::vector<TokenId>{64, 500, 469}));

  std::vector<TokenId> with = concat({{2}, plain, {1}});
  EXPECT_EQ(tok->decode(with, false), "<bos>" + text + "<eos>");
  EXPECT_EQ(tok->decode(with, true), text);
  EXPECT_EQ(tok->decode(std::vector<TokenId>{3, 261}, false), "<unk> CD");
  EXPECT_EQ(tok->decode(std::vector<TokenId>{3, 261}, true), " CD");

  for (TokenId id : {0, 1, 2, 3}) EXPECT_TRUE(tok->is_special(id)) << id;
  for (TokenId id : {4, 261, 511, 512, -1}) EXPECT_FALSE(tok->is_special(id)) << id;
  EXPECT_EQ(tok->token_to_id("<bos>"), 2);
  EXPECT_EQ(tok->token_to_id("\xe2\x96\x81" "CD"), 261);
  EXPECT_EQ(tok->token_to_id("<0x0A>"), 14);
  EXPECT_EQ(tok->token_to_id("no such piece"), std::nullopt);
  EXPECT_EQ(tok->id_to_token(2), "<bos>");
  EXPECT_EQ(tok->id_to_token(3), "<unk>");
  EXPECT_EQ(tok->id_to_token(261), "\xe2\x96\x81" "CD");
  expect_error([&] { tok->id_to_token(512); }, "outside the vocabulary");
  expect_error([&] { tok->decode(std::vector<TokenId>{261, 512}, false); }, "token id 512");
  expect_error([&] { tok->decode(std::vector<TokenId>{-1}, true); }, "token id -1");
}

TEST(SentencePieceTokenizer, AddedTokensFromTheConfiguration) {
  ScratchDir dir;
  fs::copy_file(gemma_model(), dir.path() / "tokenizer.model");
  std::ofstream(dir.path() / "tokenizer_config.json") << R"({
    "add_bos_token": false, "add_eos_token": true,
    "added_tokens_decoder": {
      "1": {"content": "<eos>", "special": true},
      "2": {"content": "<bos>", "special": true},
      "512": {"content": "<start_of_turn>", "special": true},
      "513": {"content": "<start", "special": false},
      "514": {"content": "<sep>", "special": false, "lstrip": true, "rstrip": true}
    },
    "bos_token": "<bos>", "eos_token": {"content": "<eos>", "lstrip": false}, "pad_token": null,
    "tokenizer_class": "GemmaTokenizer"})";
  auto tok = load_tokenizer(dir.path());
  EXPECT_EQ(tok->vocab_size(), 515u);
  EXPECT_EQ(tok->special_ids().pad, std::nullopt);  // null in the config: none, whatever the class says
  EXPECT_EQ(tok->special_ids().eos, 1);
  auto a = tok->encode("a", false), b = tok->encode("b", false);
  // Longest match first: <start_of_turn>, not <start + "_of_turn>".
  EXPECT_EQ(tok->encode("a<start_of_turn>b", false), concat({a, {512}, b}));
  EXPECT_EQ(tok->encode("a<startb", false), concat({a, {513}, b}));
  // lstrip/rstrip: the token swallows the whitespace around it.
  EXPECT_EQ(tok->encode("a \n <sep>  b", false), concat({a, {514}, b}));
  EXPECT_EQ(tok->encode("a", true), concat({a, {1}}));  // add_eos_token, no BOS
  std::vector<TokenId> ids = concat({a, {512}, b, {514}, {1}});
  EXPECT_EQ(tok->decode(ids, false), "a<start_of_turn>b<sep><eos>");
  EXPECT_EQ(tok->decode(ids, true), "ab<sep>");
  EXPECT_EQ(tok->id_to_token(514), "<sep>");
  EXPECT_EQ(tok->token_to_id("<start_of_turn>"), 512);
  EXPECT_TRUE(tok->is_special(512));
  EXPECT_FALSE(tok->is_special(513));
}

TEST(SentencePieceTokenizer, InvalidUtf8IsAnError) {
  auto tok = load_sentencepiece_tokenizer(gemma_model());
  for (std::string bad : {std::string("\xff"), std::string("ok \xc3"), std::string("\xc0\xaf"),  // overlong '/'
                          std::string("\xed\xa0\x80"),                                          // a surrogate
                          std::string("\xf4\x90\x80\x80"),                                      // above U+10FFFF
                          std::string("a\x80")})
    expect_error([&] { tok->encode(bad, false); }, "invalid UTF-8 at byte");
  EXPECT_NO_THROW(tok->encode("\xf0\x9f\xa7\xac \xe2\x96\x81 \xc3\xa9", false));
}

TEST(SentencePieceTokenizer, MissingOrCorruptModelNamesTheFile) {
  ScratchDir dir;
  std::string missing = dir.file("nothing/tokenizer.model");
  expect_error([&] { load_sentencepiece_tokenizer(missing); }, missing);
  std::string garbage = dir.file("garbage.model");
  std::ofstream(garbage) << "this is not a protobuf";
  expect_error([&] { load_sentencepiece_tokenizer(garbage); }, garbage);
  std::string truncated = dir.file("truncated.model");
  {
    std::ifstream in(gemma_model(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  expect_error([&] { load_sentencepiece_tokenizer(truncated); }, truncated);
  expect_error([&] { load_tokenizer(truncated); }, truncated);
}

TEST(SentencePieceTokenizer, BatchEncodingEqualsSerial) {
  ThreadsGuard guard;
  ThreadPool::set_default_threads(4);
  auto tok = load_tokenizer(gemma_folder());
  std::vector<std::string> texts;
  for (int round = 0; round < 20; ++round)
    for (const json& r : fixture())
      if (r.contains("text")) texts.push_back(r["text"].get<std::string>() + std::string(std::size_t(round), '!'));
  for (bool special : {false, true}) {
    auto batch = tok->encode_batch(texts, special);
    ASSERT_EQ(batch.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], tok->encode(texts[i], special)) << i;
  }
  EXPECT_TRUE(tok->encode_batch({}, true).empty());
  std::vector<std::string> one_bad = {"fine", "bad \xff", "fine"};
  expect_error([&] { tok->encode_batch(one_bad, false); }, "invalid UTF-8");
}

}  // namespace c2s
