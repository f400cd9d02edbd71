// Special-token resolution as transformers does it for a model folder
// (tokenizer_config.json, special_tokens_map.json, generation_config.json),
// on the reference folders and on hand-written ones; load_tokenizer's choice
// of file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "test_support.hpp"
#include "text/special_tokens.hpp"
#include "text/tokenizer.hpp"

namespace c2s {
using namespace testing_support;
namespace fs = std::filesystem;

namespace {

fs::path models() { return fs::path(C2S_SHARED_DIR) / "golden/models"; }

// A vocabulary and nothing else: resolution only needs token_to_id.
class VocabOnly final : public Tokenizer {
 public:
  explicit VocabOnly(std::map<std::string, TokenId> vocab) : vocab_(std::move(vocab)) {}
  std::vector<TokenId> encode(std::string_view, bool) const override { return {}; }
  std::string decode(std::span<const TokenId>, bool) const override { return {}; }
  std::optional<TokenId> token_to_id(std::string_view t) const override {
    auto it = vocab_.find(std::string(t));
    return it == vocab_.end() ? std::nullopt : std::optional<TokenId>(it->second);
  }
  std::string id_to_token(TokenId) const override { return {}; }
  std::size_t vocab_size() const override { return vocab_.size(); }
  bool is_special(TokenId) const override { return false; }

 private:
  std::map<std::string, TokenId> vocab_;
};

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

SpecialTokenIds fallback_ids(std::optional<TokenId> bos, std::optional<TokenId> unk, std::optional<TokenId> pad) {
  SpecialTokenIds ids;
  ids.bos = bos;
  ids.unk = unk;
  ids.pad = pad;
  return ids;
}

}  // namespace

TEST(SpecialTokens, Gemma2TinyFolder) {
  TokenizerFolderConfig c = read_tokenizer_folder_config(models() / "gemma2-tiny");
  EXPECT_EQ(c.tokenizer_class, "GemmaTokenizer");
  EXPECT_TRUE(adds_bos_token(c));
  EXPECT_FALSE(adds_eos_token(c));
  EXPECT_TRUE(rebuilds_post_processor(c));
  EXPECT_EQ(special_token_string(c, "bos_token"), std::optional<std::optional<std::string>>("<bos>"));
  EXPECT_EQ(c.generation_eos, std::vector<TokenId>{1});

  auto tok = load_tokenizer(models() / "gemma2-tiny");
  const SpecialTokenIds& ids = tok->special_ids();
  EXPECT_EQ(ids.pad, 0);
  EXPECT_EQ(ids.eos, 1);
  EXPECT_EQ(ids.bos, 2);
  EXPECT_EQ(ids.unk, 3);
  EXPECT_EQ(ids.generation_eos, std::vector<TokenId>{1});
  // The same through the model file itself (its folder's files apply).
  EXPECT_EQ(load_tokenizer(models() / "gemma2-tiny/tokenizer.model")->special_ids().bos, 2);
}

TEST(SpecialTokens, NeoxTinyFolderConfiguration) {
  TokenizerFolderConfig c = read_tokenizer_folder_config(models() / "neox-tiny");
  EXPECT_EQ(c.tokenizer_class, "GPTNeoXTokenizer");
  EXPECT_FALSE(adds_bos_token(c));
  EXPECT_FALSE(adds_eos_token(c));
  EXPECT_TRUE(rebuilds_post_processor(c));
  VocabOnly vocab({{"<|endoftext|>", 0}, {"<|padding|>", 1}});
  SpecialTokenIds ids = resolve_special_token_ids(vocab, c);
  EXPECT_EQ(ids.bos, 0);
  EXPECT_EQ(ids.eos, 0);
  EXPECT_EQ(ids.unk, 0);
  EXPECT_EQ(ids.pad, std::nullopt);  // GPT-NeoX names no pad token
  EXPECT_EQ(ids.generation_eos, std::vector<TokenId>{0});
}

// Waits on the tokenizer.json loader (hf_tokenizer.cpp).
TEST(SpecialTokens, NeoxTinyFolderLoaded) {
  auto tok = load_tokenizer(models() / "neox-tiny");
  const SpecialTokenIds& ids = tok->special_ids();
  EXPECT_EQ(ids.bos, 0);
  EXPECT_EQ(ids.eos, 0);
  EXPECT_EQ(ids.unk, 0);
  EXPECT_EQ(ids.pad, std::nullopt);
  EXPECT_EQ(ids.generation_eos, std::vector<TokenId>{0});
  // GPTNeoXTokenizerFast: add_bos_token/add_eos_token false, so nothing is added.
  EXPECT_EQ(tok->encode("Hello", true), tok->encode("Hello", false));
}

TEST(SpecialTokens, PrecedenceAndForms) {
  ScratchDir dir;
  VocabOnly vocab({{"<s>", 1}, {"</s>", 2}, {"<unk>", 0}, {"<pad>", 3}, {"<end>", 7}, {"<extra>", 9}});
  // Older folders: special_tokens_map.json overrides tokenizer_config.json.
  write(dir.path() / "tokenizer_config.json",
        R"({"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "<pad>", "unk_token": null,
            "tokenizer_class": "LlamaTokenizer", "additional_special_tokens": ["<extra>"]})");
  write(dir.path() / "special_tokens_map.json", R"({"eos_token": {"content": "</s>", "lstrip": false}})");
  write(dir.path() / "generation_config.json", R"({"eos_token_id": [2, 7], "pad_token_id": 3})");
  TokenizerFolderConfig c = read_tokenizer_folder_config(dir.path());
  SpecialTokenIds ids = resolve_special_token_ids(vocab, c, fallback_ids({}, {}, 3));
  EXPECT_EQ(ids.bos, 1);
  EXPECT_EQ(ids.eos, 2);
  EXPECT_EQ(ids.unk, std::nullopt);  // explicitly null
  EXPECT_EQ(ids.pad, std::nullopt);  // LlamaTokenizer's default: no pad token (the fallback is not used)
  EXPECT_EQ(ids.generation_eos, (std::vector<TokenId>{2, 7}));
  EXPECT_EQ(special_token_strings(c), (std::vector<std::string>{"<s>", "</s>", "<extra>"}));

  // Newer folders (added_tokens_decoder): the map is not read.
  write(dir.path() / "tokenizer_config.json",
        R"({"eos_token": "<pad>", "added_tokens_decoder": {"7": {"content": "<end>", "special": true}}})");
  c = read_tokenizer_folder_config(dir.path());
  ids = resolve_special_token_ids(vocab, c, fallback_ids(1, 0, {}));
  EXPECT_EQ(ids.eos, 3);
  EXPECT_EQ(ids.bos, 1);  // unknown class, nothing configured: the fallback
  EXPECT_EQ(ids.unk, 0);
  ASSERT_EQ(c.added_tokens.size(), 1u);
  EXPECT_EQ(c.added_tokens[0].id, 7);
  EXPECT_TRUE(c.added_tokens[0].special);
  EXPECT_TRUE(adds_bos_token(c));  // a SentencePiece folder without a class: Llama/Gemma's default
  EXPECT_FALSE(rebuilds_post_processor(c));

  // A configured token that is not in the vocabulary has no id.
  write(dir.path() / "tokenizer_config.json", R"({"pad_token": "[PAD]"})");
  write(dir.path() / "generation_config.json", R"({"eos_token_id": 2})");
  c = read_tokenizer_folder_config(dir.path());
  ids = resolve_special_token_ids(vocab, c, fallback_ids({}, {}, 3));
  EXPECT_EQ(ids.pad, std::nullopt);
  EXPECT_EQ(ids.eos, 2);  // from the map
  EXPECT_EQ(ids.generation_eos, std::vector<TokenId>{2});

  // No files at all: nothing configured.
  ScratchDir empty("c2s-empty");
  c = read_tokenizer_folder_config(empty.path());
  EXPECT_TRUE(c.special_tokens.empty());
  EXPECT_TRUE(c.generation_eos.empty());
}

TEST(SpecialTokens, MalformedFilesNameTheFile) {
  ScratchDir dir;
  const std::string config = (dir.path() / "tokenizer_config.json").string();
  auto expect_config_error = [&](const std::string& text, const std::string& part) {
    write(config, text);
    try {
      read_tokenizer_folder_config(dir.path());
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(config), std::string::npos) << what;
      EXPECT_NE(what.find(part), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  expect_config_error("{\"bos_token\": \"<s>\",\n \"eos_token\": }", "malformed JSON");
  expect_config_error("{\"bos_token\": \"<s>\"", "malformed JSON");
  expect_config_error("[1, 2]", "expected a JSON object");
  expect_config_error(R"({"bos_token": 5})", "bos_token");
  expect_config_error(R"({"add_bos_token": "yes"})", "add_bos_token");
  expect_config_error(R"({"added_tokens_decoder": {"x": {"content": "<a>"}}})", "added_tokens_decoder.x");
  expect_config_error(R"({"added_tokens_decoder": {"5": "<a>"}})", "added_tokens_decoder.5");
  fs::remove(config);
  write(dir.path() / "generation_config.json", R"({"eos_token_id": "2"})");
  expect_error([&] { read_tokenizer_folder_config(dir.path()); }, "generation_config.json: field 'eos_token_id'");
  write(dir.path() / "generation_config.json", "{\"eos_token_id\": [1,\n\n");
  expect_error([&] { read_tokenizer_folder_config(dir.path()); }, "generation_config.json: malformed JSON");
  // load_tokenizer reports it too.
  fs::copy_file(models() / "gemma2-tiny/tokenizer.model", dir.path() / "tokenizer.model");
  expect_error([&] { load_tokenizer(dir.path()); }, "generation_config.json: malformed JSON");
}

TEST(LoadTokenizer, ChoosesTheFile) {
  ScratchDir dir;
  expect_error([&] { load_tokenizer(dir.path()); }, "no tokenizer.json or tokenizer.model");
  expect_error([&] { load_tokenizer(dir.path() / "missing"); }, "no such tokenizer file or model folder");
  fs::copy_file(models() / "gemma2-tiny/tokenizer.model", dir.path() / "tokenizer.model");
  EXPECT_EQ(load_tokenizer(dir.path())->vocab_size(), 512u);
  // A file of any name: SentencePiece unless it starts like JSON.
  fs::copy_file(models() / "gemma2-tiny/tokenizer.model", dir.path() / "spm.bin");
  EXPECT_EQ(load_tokenizer(dir.path() / "spm.bin")->vocab_size(), 512u);
  // Without configuration files a tokenizer.model adds its own BOS.
  EXPECT_EQ(load_tokenizer(dir.path())->encode("T", true), (std::vector<TokenId>{2, 458}));
  EXPECT_EQ(load_tokenizer(dir.path())->special_ids().pad, 0);
}

}  // namespace c2s
