// WordLevel: a vocabulary lookup; a word outside it is the unk token, and an
// Error when the unk token is not in the vocabulary either.
#include "text/hf_word_level_model.hpp"

#include "text/hf_vocabulary.hpp"

namespace c2s {
namespace {

class WordLevelModel final : public HfModel {
 public:
  explicit WordLevelModel(const HfJsonComponent& c) : vocab_(c, "vocab"), unk_token_(c.string("unk_token")) {}

  void tokenize(std::string_view word, std::vector<TokenId>& ids) const override {
    if (const auto id = vocab_.find(word)) {
      ids.push_back(*id);
    } else if (const auto unk = vocab_.find(unk_token_)) {
      ids.push_back(*unk);
    } else {
      throw Error("WordLevel model: word not in the vocabulary and unk_token '" + unk_token_ + "' is not either");
    }
  }
  std::optional<TokenId> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(TokenId id) const override { return vocab_.token(id); }
  std::size_t size() const override { return vocab_.size(); }
  void for_each_id(const std::function<void(TokenId)>& fn) const override { vocab_.for_each_id(fn); }

 private:
  HfVocabulary vocab_;
  std::string unk_token_;
};

}  // namespace

std::unique_ptr<HfModel> parse_hf_word_level_model(const HfJsonComponent& model) {
  return std::make_unique<WordLevelModel>(model);
}

}  // namespace c2s
