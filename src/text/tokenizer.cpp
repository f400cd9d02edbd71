// What every Tokenizer shares (batch encoding) and load_tokenizer: which file
// of a model folder is read, and the folder's special tokens applied as
// transformers applies them.
#include "text/tokenizer.hpp"

#include <fstream>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "text/hf_tokenizer.hpp"
#include "text/sentencepiece_tokenizer.hpp"
#include "text/special_tokens.hpp"

namespace c2s {

namespace fs = std::filesystem;

std::vector<std::vector<TokenId>> Tokenizer::encode_batch(std::span<const std::string> texts,
                                                          bool add_special_tokens) const {
  std::vector<std::vector<TokenId>> out(texts.size());
  ThreadPool::global().parallel_for(texts.size(), [&](std::size_t i) { out[i] = encode(texts[i], add_special_tokens); });
  return out;
}

namespace {

// transformers' Llama, Gemma and GPT-NeoX fast tokenizers replace the
// tokenizer.json post-processor by "[BOS] $A [EOS]" as add_bos_token /
// add_eos_token say (class defaults included); this does the same around a
// tokenizer.json tokenizer.
class ConfiguredBosEos final : public Tokenizer {
 public:
  ConfiguredBosEos(std::unique_ptr<Tokenizer> inner, bool add_bos, bool add_eos)
      : inner_(std::move(inner)), add_bos_(add_bos), add_eos_(add_eos) {}

  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const override {
    std::vector<TokenId> ids = inner_->encode(text, false);
    if (!add_special_tokens) return ids;
    if (add_bos_) ids.insert(ids.begin(), *special_ids().bos);
    if (add_eos_) ids.push_back(*special_ids().eos);
    return ids;
  }
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const override {
    return inner_->decode(ids, skip_special_tokens);
  }
  std::optional<TokenId> token_to_id(std::string_view token) const override { return inner_->token_to_id(token); }
  std::string id_to_token(TokenId id) const override { return inner_->id_to_token(id); }
  std::size_t vocab_size() const override { return inner_->vocab_size(); }
  bool is_special(TokenId id) const override { return inner_->is_special(id); }

 private:
  std::unique_ptr<Tokenizer> inner_;
  bool add_bos_, add_eos_;
};

enum class TokenizerFile { HuggingFaceJson, SentencePieceModel };

// A file given directly: by its name, else by its first byte (JSON starts
// with '{', a SentencePiece model is a binary protobuf).
TokenizerFile kind_of_file(const fs::path& file) {
  std::string ext = file.extension().string();
  if (ext == ".json") return TokenizerFile::HuggingFaceJson;
  if (ext == ".model") return TokenizerFile::SentencePieceModel;
  std::ifstream in(file, std::ios::binary);
  char c = 0;
  while (in.get(c) && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
  }
  return c == '{' ? TokenizerFile::HuggingFaceJson : TokenizerFile::SentencePieceModel;
}

void require_bos_eos(const std::string& where, const SpecialTokenIds& ids, bool add_bos, bool add_eos) {
  if (add_bos && !ids.bos) throw Error(where, "add_bos_token is set but the folder has no BOS token in the vocabulary");
  if (add_eos && !ids.eos) throw Error(where, "add_eos_token is set but the folder has no EOS token in the vocabulary");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& path) {
  std::error_code ec;
  fs::path folder, file;
  if (fs::is_directory(path, ec)) {
    folder = path;
    if (fs::exists(path / "tokenizer.json", ec))
      file = path / "tokenizer.json";
    else if (fs::exists(path / "tokenizer.model", ec))
      file = path / "tokenizer.model";
    else
      throw Error(path.string(), "no tokenizer.json or tokenizer.model in this folder");
  } else if (fs::exists(path, ec)) {
    file = path;
    folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  } else {
    throw Error(path.string(), "no such tokenizer file or model folder");
  }

  TokenizerFolderConfig config = read_tokenizer_folder_config(folder);
  const bool add_bos = adds_bos_token(config), add_eos = adds_eos_token(config);
  std::unique_ptr<Tokenizer> tokenizer;
  SpecialTokenIds ids;
  if (kind_of_file(file) == TokenizerFile::SentencePieceModel) {
    SentencePieceOptions options{.add_bos = add_bos,
                                 .add_eos = add_eos,
                                 .added_tokens = config.added_tokens,
                                 .special_tokens = special_token_strings(config)};
    tokenizer = load_sentencepiece_tokenizer(file, options);
    ids = resolve_special_token_ids(*tokenizer, config, tokenizer->special_ids());
    require_bos_eos(folder.string(), ids, add_bos, add_eos);
  } else {
    tokenizer = load_hf_tokenizer(file);
    ids = resolve_special_token_ids(*tokenizer, config, tokenizer->special_ids());
    if (rebuilds_post_processor(config)) {
      require_bos_eos(folder.string(), ids, add_bos, add_eos);
      tokenizer = std::make_unique<ConfiguredBosEos>(std::move(tokenizer), add_bos, add_eos);
    }
  }
  tokenizer->set_special_ids(ids);
  return tokenizer;
}

std::vector<std::filesystem::path> tokenizer_files(const std::filesystem::path& path) {
  if (!std::filesystem::is_directory(path)) return {path};
  std::vector<std::filesystem::path> files;
  for (const char* name :
       {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"})
    if (std::filesystem::exists(path / name)) files.push_back(path / name);
  return files;
}

}  // namespace c2s
