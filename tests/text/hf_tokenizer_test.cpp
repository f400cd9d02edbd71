// The tokenizer.json engine's own guarantees: clear errors for malformed
// files and input, the neox-tiny tokenizer round trip, identical results from
// many threads, the hand-compiled GPT-2 scanner against Oniguruma, UTF-8.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "text/byte_level.hpp"
#include "text/hf_tokenizer.hpp"
#include "text/onig_regex.hpp"
#include "text/unicode_normalization.hpp"
#include "text/utf8.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;
using testing_support::ScratchDir;

const std::string kNeoxTiny = C2S_SHARED_DIR "/golden/models/neox-tiny/tokenizer.json";

// A small valid tokenizer.json to break in the error tests.
nlohmann::json small_tokenizer() {
  return nlohmann::json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false,
                      "single_word": false, "lstrip": false, "rstrip": false}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}]},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"Sequence": {"id": "A", "type_id": 0}}],
                       "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                       "special_tokens": {}},
    "decoder": {"type": "Sequence", "decoders": [{"type": "Fuse"}]},
    "model": {"type": "BPE", "unk_token": "<unk>", "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3},
              "merges": ["a b"]}
  })");
}

void expect_parse_error(const nlohmann::json& j, const std::string& part) {
  expect_error([&] { parse_hf_tokenizer(j, "test.json"); }, part);
}

TEST(HfTokenizerErrors, SmallTokenizerIsValid) {
  const auto tok = parse_hf_tokenizer(small_tokenizer(), "test.json");
  EXPECT_EQ(tok->encode("ab a ba", false), (std::vector<TokenId>{3, 1, 2, 1}));
  EXPECT_EQ(tok->decode(std::vector<TokenId>{3, 1}, false), "aba");
}

TEST(HfTokenizerErrors, FileThatIsNotJson) {
  ScratchDir dir;
  const auto path = dir.file("tokenizer.json");
  std::ofstream(path) << "{\"version\": \"1.0\", \"model\": ";
  expect_error([&] { load_hf_tokenizer(path); }, "malformed JSON");
  expect_error([&] { load_hf_tokenizer(dir.file("missing.json")); }, "missing.json: no such file");
  std::ofstream(path, std::ios::trunc) << "[1, 2]";
  expect_error([&] { load_hf_tokenizer(path); }, "not a JSON object");
}

TEST(HfTokenizerErrors, MissingOrUnknownModel) {
  auto j = small_tokenizer();
  j.erase("model");
  expect_parse_error(j, "test.json: missing model");
  j = small_tokenizer();
  j["model"]["type"] = "Transformer";
  expect_parse_error(j, "model (Transformer): unknown model type 'Transformer'");
  j = small_tokenizer();
  j["model"]["type"] = "WordPiece";
  expect_parse_error(j, "model type 'WordPiece' is not supported");
}

TEST(HfTokenizerErrors, UnknownComponentTypesAreNamed) {
  auto j = small_tokenizer();
  j["normalizer"]["normalizers"][0]["type"] = "Foo";
  expect_parse_error(j, "test.json: normalizer.normalizers[0] (Foo): unknown normalizer type 'Foo'");
  j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Bar"}};
  expect_parse_error(j, "pre_tokenizer (Bar): unknown pre_tokenizer type 'Bar'");
  j = small_tokenizer();
  j["decoder"]["decoders"][0]["type"] = "Baz";
  expect_parse_error(j, "decoder.decoders[0] (Baz): unknown decoder type 'Baz'");
  j = small_tokenizer();
  j["post_processor"]["type"] = "Qux";
  expect_parse_error(j, "post_processor (Qux): unknown post_processor type 'Qux'");
  j = small_tokenizer();
  j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", ""}};
  expect_parse_error(j, "normalizer type 'Precompiled' is not supported");
  j = small_tokenizer();
  j["normalizer"] = {{"kind", "NFC"}};
  expect_parse_error(j, "normalizer: missing field 'type'");
}

TEST(HfTokenizerErrors, BpeVocabularyAndMerges) {
  auto j = small_tokenizer();
  j["model"].erase("merges");
  expect_parse_error(j, "model (BPE): missing field 'merges'");
  j = small_tokenizer();
  j["model"].erase("vocab");
  expect_parse_error(j, "model (BPE): missing field 'vocab'");
  j = small_tokenizer();
  j["model"]["merges"] = {"a c"};
  expect_parse_error(j, "merges[0]: token 'c' is not in the vocabulary");
  j = small_tokenizer();
  j["model"]["merges"] = {"b a"};
  expect_parse_error(j, "merged token 'ba' is not in the vocabulary");
  j = small_tokenizer();
  j["model"]["merges"] = {"a b c"};
  expect_parse_error(j, "merges[0] 'a b c' is not two tokens");
  j = small_tokenizer();
  j["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b"}), "a b"});
  expect_parse_error(j, "merges[1] is not a pair of strings");
  j = small_tokenizer();
  j["model"]["vocab"]["c"] = -4;
  expect_parse_error(j, "id of token 'c' is not an integer");
  j = small_tokenizer();
  j["model"]["dropout"] = 1.5;
  expect_parse_error(j, "dropout");
  // Dropout within [0, 1] is accepted and not applied: encoding stays
  // deterministic.
  j = small_tokenizer();
  j["model"]["dropout"] = 0.5;
  const auto tok = parse_hf_tokenizer(j, "test.json");
  for (int i = 0; i < 20; ++i) EXPECT_EQ(tok->encode("ab", false), std::vector<TokenId>{3});
}

TEST(HfTokenizerErrors, MalformedFields) {
  auto j = small_tokenizer();
  j["version"] = "2.0";
  expect_parse_error(j, "unknown tokenizer.json version");
  j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}, {"invert", false}};
  expect_parse_error(j, "invalid regex '(unclosed'");
  j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Sideways"}, {"invert", false}};
  expect_parse_error(j, "unknown split behavior 'Sideways'");
  // Fields the library requires are required here too.
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "a"}}}, {"behavior", "Isolated"}};
  expect_parse_error(j, "pre_tokenizer (Split): missing field 'invert'");
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"trim_offsets", true}};
  expect_parse_error(j, "pre_tokenizer (ByteLevel): missing field 'add_prefix_space'");
  j = small_tokenizer();
  j["added_tokens"][0].erase("lstrip");
  expect_parse_error(j, "added_tokens[0]: missing field 'lstrip'");
  j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  expect_parse_error(j, "field 'replacement' must be exactly one character");
  j = small_tokenizer();
  j["post_processor"]["single"] = {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}};
  expect_parse_error(j, "special token '<s>' of the single template is not in special_tokens");
  j = small_tokenizer();
  j["added_tokens"][0].erase("content");
  expect_parse_error(j, "added_tokens[0]: missing field 'content'");
  j = small_tokenizer();
  j["model"] = nlohmann::json::parse(R"({"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 3})");
  expect_parse_error(j, "unk_id is outside the vocabulary");
  j = small_tokenizer();
  j["normalizer"] = "NFC";
  expect_parse_error(j, "normalizer: expected an object");
  // Deeply nested sequences are refused, not recursed into until the stack
  // runs out.
  nlohmann::json deep = {{"type", "NFC"}};
  for (int i = 0; i < 200; ++i) deep = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array({deep})}};
  j = small_tokenizer();
  j["normalizer"] = deep;
  expect_parse_error(j, "nested more than 32 levels deep");
}

TEST(HfTokenizerErrors, InvalidUtf8InputAndUnknownIds) {
  const auto tok = parse_hf_tokenizer(small_tokenizer(), "test.json");
  expect_error([&] { tok->encode("ab\xC3(", false); }, "test.json: encode: invalid UTF-8 at byte 2");
  expect_error([&] { tok->encode("\xED\xA0\x80", false); }, "invalid UTF-8");  // a surrogate
  expect_error([&] { tok->encode("\xF4\x90\x80\x80", false); }, "invalid UTF-8");  // above U+10FFFF
  expect_error([&] { tok->encode("\xC0\xAF", false); }, "invalid UTF-8");  // overlong
  expect_error([&] { tok->id_to_token(99); }, "token id 99 is outside the vocabulary");
  // decode skips ids it does not know, as the library does.
  EXPECT_EQ(tok->decode(std::vector<TokenId>{1, 99, -5, 2}, false), "ab");
}

TEST(HfTokenizerErrors, ModelWithoutUnkTokenInVocabulary) {
  auto j = small_tokenizer();
  j["model"]["unk_token"] = "<missing>";
  const auto tok = parse_hf_tokenizer(j, "test.json");
  EXPECT_EQ(tok->encode("ab", false), std::vector<TokenId>{3});
  expect_error([&] { tok->encode("xyz", false); }, "unk_token '<missing>' is not in the vocabulary");
  j = small_tokenizer();
  j["model"] = nlohmann::json::parse(R"({"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "<unk>"})");
  j["added_tokens"] = nlohmann::json::array();
  expect_error([&] { parse_hf_tokenizer(j, "test.json")->encode("b", false); }, "WordLevel model");
}

TEST(HfTokenizer, NeoxTinyLoadsAndRoundTrips) {
  const auto tok = load_hf_tokenizer(kNeoxTiny);
  EXPECT_EQ(tok->vocab_size(), 50281u);  // the library's get_vocab_size(true)
  EXPECT_EQ(tok->token_to_id("<|endoftext|>"), 0);
  EXPECT_EQ(tok->token_to_id("<|padding|>"), 1);
  EXPECT_TRUE(tok->is_special(0));
  EXPECT_FALSE(tok->is_special(50276));
  EXPECT_EQ(tok->id_to_token(50276), "  ");
  EXPECT_EQ(tok->encode("Cell sentence: MALAT1 TMSB4X B2M", true),
            (std::vector<TokenId>{10772, 6197, 27, 40273, 1194, 18, 308, 3338, 35, 21, 57, 378, 19, 46}));
  EXPECT_EQ(tok->encode("  x\u00a0y  ", false), (std::vector<TokenId>{50276, 89, 575, 90, 50276}));
  const std::vector<std::string> texts = {
      "Cell sentence: MALAT1 RPL13 B2M TMSB4X EEF1A1",
      "The cell type corresponding to these genes is: CD14+ Monocytes.",
      "  many   spaces\tand\ttabs\n\nand newlines  ",
      "accents: Ångström, naïve, 日本語, emoji 🧬",
      "<|endoftext|>between<|padding|>specials<|endoftext|>",
  };
  for (const auto& t : texts) {
    const auto ids = tok->encode(t, false);
    EXPECT_EQ(tok->decode(ids, false), unicode::normalize(t, unicode::NormalForm::NFC)) << t;
  }
}

// The same texts through both the hand-compiled ByteLevel scanner (neox) and
// an Oniguruma Split (the Llama-3-style fixture), from eight threads at once.
class ManyThreads : public ::testing::TestWithParam<std::string> {};

TEST_P(ManyThreads, GiveTheSameIds) {
  const auto tok = load_hf_tokenizer(GetParam());
  std::vector<std::string> texts;
  std::mt19937 rng(7);
  const std::vector<std::string> genes = {"MALAT1", "RPL13", "B2M", "TMSB4X", "EEF1A1", "CD74", "HLA-DRA", "LYZ",
                                          "S100A9", "GNLY", "NKG7", "CCL5", "RP11-1399P15.1", "MT-CO1", "FTL"};
  for (int i = 0; i < 200; ++i) {
    std::string s = "Cell sentence:";
    for (int g = 0; g < 50; ++g) s += " " + genes[rng() % genes.size()];
    texts.push_back(s + ".");
  }
  std::vector<std::vector<TokenId>> expected;
  for (const auto& t : texts) expected.push_back(tok->encode(t, false));
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round)
        for (std::size_t i = (t * 13) % texts.size(), n = 0; n < texts.size(); ++n, i = (i + 1) % texts.size())
          if (tok->encode(texts[i], false) != expected[i]) ++mismatches;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(HfTokenizer, ManyThreads,
                         ::testing::Values(kNeoxTiny, C2S_SOURCE_DIR "/tests/text/fixtures/byte_level_split_ignore_merges.json"));

// Random text drawn from the characters the GPT-2 regex distinguishes.
std::string random_text(std::mt19937& rng, std::size_t max_chars) {
  static const std::vector<std::string> alphabet = {
      "a", "Z", "q", "1", "9", " ", " ", " ", "\t", "\n", "\r", "'", "s", "t", "r", "e", "v", "l", "m", "d",
      "!", ".", "-", "_", "\u00a0", "\u2003", "\u3000", "é", "ß", "Ω", "日", "本", "😀", "🧬", "\u0301",
      "\u0308", "①", "½", "٣", "\u200b", "\u2028", "\u0085", "\u180e", "ǅ", "ʰ", "々"};
  std::string s;
  const std::size_t n = rng() % (max_chars + 1);
  for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
  return s;
}

TEST(ByteLevel, HandCompiledScannerMatchesOniguruma) {
  const OnigRegex regex(byte_level::kGpt2Pattern, "gpt2");
  std::mt19937 rng(12345);
  std::vector<std::pair<std::size_t, std::size_t>> a, b;
  for (int i = 0; i < 20000; ++i) {
    const std::string text = random_text(rng, 24);
    a.clear();
    b.clear();
    byte_level::split_gpt2(text, a);
    regex.find_all(text, b);
    ASSERT_EQ(a, b) << "text: \"" << text << "\"";
  }
}

TEST(ByteLevel, AlphabetRoundTrips) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string mapped;
  byte_level::append_chars(mapped, all);
  EXPECT_EQ(utf8::count_code_points(mapped), 256u);
  std::size_t i = 0;
  for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_level::byte_of_char(utf8::next(mapped, i)), b);
  EXPECT_EQ(byte_level::char_of_byte(' '), U'Ġ');
  EXPECT_EQ(byte_level::byte_of_char(U' '), -1);
}

TEST(Utf8, ValidationAndLossyDecoding) {
  EXPECT_TRUE(utf8::is_valid("plain ascii text, long enough for the fast path"));
  EXPECT_TRUE(utf8::is_valid("é日😀"));
  EXPECT_EQ(utf8::find_invalid("abcdefgh\x80"), 8u);
  EXPECT_EQ(utf8::find_invalid("ab\xE6\x97"), 2u);  // truncated
  EXPECT_EQ(utf8::from_bytes_lossy("a\xE5\x8F" "b"), "a\uFFFD" "b");  // one U+FFFD per maximal prefix
  EXPECT_EQ(utf8::from_bytes_lossy("\x80\x80"), "\uFFFD\uFFFD");
  EXPECT_EQ(utf8::from_bytes_lossy("\xF0\x9F\x98\x80"), "😀");
  EXPECT_EQ(utf8::from_bytes_lossy("\xE0\x80\x80"), "\uFFFD\uFFFD\uFFFD");  // overlong
}

TEST(OnigRegex, EmptyMatchesFollowRustOnig) {
  const OnigRegex any("", "test");
  std::vector<std::pair<std::size_t, std::size_t>> m;
  any.find_all("aé", m);
  EXPECT_EQ(m, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}, {1, 1}, {3, 3}}));
  const OnigRegex star("a*", "test");
  m.clear();
  star.find_all("baab", m);
  // The empty match right after "aa" is skipped.
  EXPECT_EQ(m, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}, {1, 3}, {4, 4}}));
  EXPECT_EQ(OnigRegex::escape("a.b*[c]"), "a\\.b\\*\\[c\\]");
}

}  // namespace
}  // namespace c2s
