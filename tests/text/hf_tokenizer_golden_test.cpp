// The tokenizer.json engine against outputs of the Rust tokenizers library:
// the GPT-NeoX golden cases and the neox-tiny model's tokenizer.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "text/hf_tokenizer.hpp"
#include "test_support.hpp"

namespace c2s {
using testing_support::read_jsonl;

namespace {

const std::string kGolden = C2S_SHARED_DIR "/golden/tokenizers/gpt-neox";


TEST(HfTokenizerGolden, GptNeoxCasesMatchTheRustLibrary) {
  const auto tok = load_hf_tokenizer(kGolden + "/tokenizer.json");
  const auto cases = read_jsonl(kGolden + "/cases.jsonl");
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const std::string text = c["text"];
    SCOPED_TRACE(text);
    const auto ids = tok->encode(text, false);
    EXPECT_EQ(ids, c["ids"].get<std::vector<TokenId>>());
    std::vector<std::string> tokens;
    for (TokenId id : ids) tokens.push_back(tok->id_to_token(id));
    EXPECT_EQ(tokens, c["tokens"].get<std::vector<std::string>>());
    const auto expected_ids = c["ids"].get<std::vector<TokenId>>();
    EXPECT_EQ(tok->decode(expected_ids, false), c["decoded"].get<std::string>());
    EXPECT_EQ(tok->decode(expected_ids, true), c["decoded_skip_special"].get<std::string>());
    // Encoding again hits the word cache and must not change anything.
    EXPECT_EQ(tok->encode(text, false), ids);
  }
}

}  // namespace
}  // namespace c2s
