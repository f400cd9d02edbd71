// Hand-made tokenizer.json fixtures (tests/text/fixtures) against the outputs
// the Rust tokenizers library gave for them (written by make_expected.js).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "text/hf_tokenizer.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

const std::string kFixtures = C2S_SOURCE_DIR "/tests/text/fixtures/";

class HfFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(HfFixture, MatchesTheRustLibrary) {
  const auto tok = load_hf_tokenizer(kFixtures + GetParam() + ".json");
  std::ifstream in(kFixtures + GetParam() + ".expected.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(tok->vocab_size(), nlohmann::json::parse(line)["vocab_size"].get<std::size_t>());
  int cases = 0;
  while (std::getline(in, line)) {
    const auto c = nlohmann::json::parse(line);
    const std::string text = c["text"];
    SCOPED_TRACE(GetParam() + ": \"" + text + "\"");
    const auto expected_ids = c["ids"].get<std::vector<TokenId>>();
    const auto ids = tok->encode(text, false);
    EXPECT_EQ(ids, expected_ids);
    std::vector<std::string> tokens;
    for (TokenId id : ids) tokens.push_back(tok->id_to_token(id));
    EXPECT_EQ(tokens, c["tokens"].get<std::vector<std::string>>());
    EXPECT_EQ(tok->decode(expected_ids, false), c["decoded"].get<std::string>());
    EXPECT_EQ(tok->decode(expected_ids, true), c["decoded_skip_special"].get<std::string>());
    const auto expected_special = c["ids_with_special"].get<std::vector<TokenId>>();
    EXPECT_EQ(tok->encode(text, true), expected_special);
    EXPECT_EQ(tok->decode(expected_special, false), c["decoded_with_special"].get<std::string>());
    EXPECT_EQ(tok->decode(expected_special, true), c["decoded_with_special_skip_special"].get<std::string>());
    ++cases;
  }
  EXPECT_GT(cases, 10);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfFixture,
                         ::testing::Values("llama_bpe_byte_fallback", "llama_metaspace_first", "t5_unigram",
                                           "gemma_unigram_byte_fallback", "word_level_whitespace",
                                           "word_level_punct_digits", "word_level_split", "word_level_split_invert",
                                           "word_level_metaspace_first",
                                           "bpe_subword_prefix", "byte_level_added_tokens",
                                           "byte_level_split_ignore_merges"));

}  // namespace
}  // namespace c2s
