// The tokenizer.json pipeline: added tokens found in the raw and normalized
// text, pre-tokenization, the model on each word (memoised per thread),
// post-processing; decoding by the decoder chain.
#include "text/hf_tokenizer.hpp"

#include <unordered_set>

#include "core/error.hpp"
#include "core/json_file.hpp"
#include "text/hf_added_vocabulary.hpp"
#include "text/hf_decoders.hpp"
#include "text/hf_model.hpp"
#include "text/hf_normalizers.hpp"
#include "text/hf_post_processors.hpp"
#include "text/hf_pre_tokenizers.hpp"
#include "text/hf_pre_tokens.hpp"
#include "text/hf_word_cache.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

// Piece offsets are 32-bit and a pre-tokenizer may triple the text.
constexpr std::size_t kMaxTextBytes = std::size_t{1} << 30;

const nlohmann::json& field_or_null(const nlohmann::json& j, const char* name) {
  static const nlohmann::json null_json;
  auto it = j.find(name);
  return it == j.end() ? null_json : *it;
}

class HfTokenizer final : public Tokenizer {
 public:
  HfTokenizer(const nlohmann::json& j, const std::string& context);

  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const override;
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override;
  std::string id_to_token(TokenId id) const override;
  std::size_t vocab_size() const override { return vocab_size_; }
  bool is_special(TokenId id) const override {
    const std::string* t = token_of(id);
    return t && added_.is_special(*t);
  }

 private:
  const std::string* token_of(TokenId id) const {
    const std::string* t = added_.id_to_token(id);
    return t ? t : model_->id_to_token(id);
  }

  std::string context_;
  std::unique_ptr<HfNormalizer> normalizer_;
  std::unique_ptr<HfPreTokenizer> pre_tokenizer_;
  std::unique_ptr<HfModel> model_;
  HfAddedVocabulary added_;
  std::unique_ptr<HfPostProcessor> post_processor_;
  std::unique_ptr<HfDecoder> decoder_;
  std::size_t vocab_size_ = 0;
  HfWordCache cache_;
};

HfTokenizer::HfTokenizer(const nlohmann::json& j, const std::string& context) : context_(context) {
  if (!j.is_object()) throw Error(context, "tokenizer.json is not a JSON object");
  if (const auto& v = field_or_null(j, "version"); !v.is_null() && !(v.is_string() && v.get<std::string>() == "1.0"))
    throw Error(context, "unknown tokenizer.json version " + v.dump());
  // truncation and padding are left out on purpose: transformers turns the
  // file's settings off unless a call asks for them.
  normalizer_ = parse_hf_normalizer(field_or_null(j, "normalizer"), "normalizer", context);
  pre_tokenizer_ = parse_hf_pre_tokenizer(field_or_null(j, "pre_tokenizer"), "pre_tokenizer", context);
  model_ = parse_hf_model(field_or_null(j, "model"), "model", context);
  post_processor_ = parse_hf_post_processor(field_or_null(j, "post_processor"), "post_processor", context);
  decoder_ = parse_hf_decoder(field_or_null(j, "decoder"), "decoder", context);
  added_.build(field_or_null(j, "added_tokens"), *model_, normalizer_.get(), context);

  std::unordered_set<TokenId> ids;
  model_->for_each_id([&](TokenId id) { ids.insert(id); });
  added_.for_each_id([&](TokenId id) { ids.insert(id); });
  vocab_size_ = ids.size();
}

std::vector<TokenId> HfTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  utf8::require_valid(text, context_ + ": encode");
  if (text.size() > kMaxTextBytes) throw Error(context_, "encode: input longer than 1 GiB");

  thread_local PreTokens extracted, cut;
  extracted.clear();
  added_.extract(text, normalizer_.get(), extracted);
  const PreTokens* pieces = &extracted;
  if (pre_tokenizer_) {
    cut.clear();
    pre_tokenizer_->pre_tokenize(extracted, cut);
    pieces = &cut;
  }

  std::vector<TokenId> ids;
  ids.reserve(pieces->pieces().size() + 8);
  WordIdTable& table = cache_.thread_table();
  for (const auto& p : pieces->pieces()) {
    if (p.added_id >= 0) {
      ids.push_back(p.added_id);
      continue;
    }
    const std::string_view word = pieces->view(p);
    const std::uint64_t h = WordIdTable::hash(word);
    if (table.find(word, h, ids)) continue;
    const std::size_t before = ids.size();
    try {
      model_->tokenize(word, ids);
    } catch (const Error& e) {
      throw Error(context_, e.what());
    }
    table.insert(word, h, ids.data() + before, ids.size() - before);
  }
  if (post_processor_) post_processor_->process(ids, add_special_tokens);
  return ids;
}

std::string HfTokenizer::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const TokenId id : ids) {
    // Unknown ids are skipped, as the library does.
    const std::string* t = token_of(id);
    if (!t || (skip_special_tokens && added_.is_special(*t))) continue;
    tokens.push_back(*t);
  }
  std::string out;
  if (!decoder_) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i) out.push_back(' ');
      out += tokens[i];
    }
    return out;
  }
  decoder_->decode_chain(tokens);
  for (const auto& t : tokens) out += t;
  return out;
}

std::optional<TokenId> HfTokenizer::token_to_id(std::string_view token) const {
  if (auto id = added_.token_to_id(token)) return id;
  return model_->token_to_id(token);
}

std::string HfTokenizer::id_to_token(TokenId id) const {
  const std::string* t = token_of(id);
  if (!t) throw Error(context_, "token id " + std::to_string(id) + " is outside the vocabulary");
  return *t;
}

}  // namespace

std::unique_ptr<Tokenizer> parse_hf_tokenizer(const nlohmann::json& tokenizer_json, const std::string& context) {
  try {
    return std::make_unique<HfTokenizer>(tokenizer_json, context);
  } catch (const nlohmann::json::exception& e) {
    throw Error(context, std::string("malformed tokenizer.json: ") + e.what());
  }
}

std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& tokenizer_json) {
  return parse_hf_tokenizer(read_json_file(tokenizer_json), tokenizer_json.string());
}

}  // namespace c2s
