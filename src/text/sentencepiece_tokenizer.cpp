#include "text/sentencepiece_tokenizer.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "core/error.hpp"
#include "text/sentencepiece_processor.hpp"
#include "text/utf8.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(const fs::path& model_file, const SentencePieceOptions& options)
      : file_(model_file.string()), add_bos_(options.add_bos), add_eos_(options.add_eos) {
    std::error_code ec;
    if (!fs::is_regular_file(model_file, ec)) throw Error(file_, "no such SentencePiece model file");
    if (auto why = sp_->load(file_); !why.empty()) throw Error(file_, "not a valid SentencePiece model: " + why);
    pieces_ = sp_->size();
    if (pieces_ <= 0) throw Error(file_, "the SentencePiece model has no pieces");

    TokenId size = pieces_;
    for (const auto& t : options.added_tokens) size = std::max(size, t.id + 1);
    vocab_size_ = std::size_t(size);
    special_.assign(vocab_size_, false);
    known_.assign(vocab_size_, false);
    std::fill(known_.begin(), known_.begin() + pieces_, true);

    // Control and unknown pieces decode to nothing in SentencePiece; like
    // transformers, c2s writes them as their text and treats them as special
    // (matched in input text, removed by skip_special_tokens).
    for (TokenId id = 0; id < pieces_; ++id)
      if (sp_->is_control(id) || sp_->is_unknown(id)) {
        add_verbatim(id, sp_->id_to_piece(id), false, false);
        special_[std::size_t(id)] = true;
      }
    for (const auto& t : options.added_tokens) {
      add_verbatim(t.id, t.content, t.lstrip, t.rstrip);
      known_[std::size_t(t.id)] = true;
      if (t.special) special_[std::size_t(t.id)] = true;
    }
    for (const auto& s : options.special_tokens)
      if (auto id = token_to_id(s)) special_[std::size_t(*id)] = true;
    for (auto& candidates : by_first_byte_)
      std::stable_sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
        return matchers_[a].content.size() > matchers_[b].content.size();
      });

    SpecialTokenIds ids;
    auto own = [&](int id) { return id >= 0 && id < pieces_ ? std::optional<TokenId>(id) : std::nullopt; };
    ids.bos = own(sp_->bos_id());
    ids.eos = own(sp_->eos_id());
    ids.pad = own(sp_->pad_id());
    ids.unk = own(sp_->unk_id());
    set_special_ids(ids);
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special_tokens) const override {
    utf8::require_valid(text, "text to tokenize");
    std::vector<TokenId> out;
    if (add_special_tokens && add_bos_) out.push_back(required(special_ids().bos, "BOS"));
    std::vector<int> piece_ids;
    auto encode_plain = [&](std::string_view part) {
      if (part.empty()) return;
      if (auto why = sp_->encode(part, piece_ids); !why.empty()) throw Error(file_, "SentencePiece encoding failed: " + why);
      out.insert(out.end(), piece_ids.begin(), piece_ids.end());
    };
    std::size_t start = 0, i = 0;
    while (i < text.size()) {
      const Matcher* m = match_at(text, i);
      if (!m) {
        ++i;
        continue;
      }
      std::size_t end_before = i;
      if (m->lstrip)
        while (end_before > start && is_space(text[end_before - 1])) --end_before;
      encode_plain(text.substr(start, end_before - start));
      out.push_back(m->id);
      i += m->content.size();
      if (m->rstrip)
        while (i < text.size() && is_space(text[i])) ++i;
      start = i;
    }
    encode_plain(text.substr(start));
    if (add_special_tokens && add_eos_) out.push_back(required(special_ids().eos, "EOS"));
    return out;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens) const override {
    std::string out, part;
    std::vector<int> run;
    auto flush = [&] {
      if (run.empty()) return;
      if (auto why = sp_->decode(run, part); !why.empty()) throw Error(file_, "SentencePiece decoding failed: " + why);
      out += part;
      run.clear();
    };
    for (TokenId id : ids) {
      check_id(id);
      if (skip_special_tokens && special_[std::size_t(id)]) continue;
      if (auto it = verbatim_.find(id); it != verbatim_.end()) {
        flush();
        out += it->second;
      } else {
        run.push_back(id);
      }
    }
    flush();
    return out;
  }

  std::optional<TokenId> token_to_id(std::string_view token) const override {
    if (auto it = added_ids_.find(std::string(token)); it != added_ids_.end()) return it->second;
    int id = sp_->piece_to_id(token);
    if (id >= 0 && id < pieces_ && sp_->id_to_piece(id) == token) return id;
    return std::nullopt;
  }

  std::string id_to_token(TokenId id) const override {
    check_id(id);
    if (auto it = verbatim_.find(id); it != verbatim_.end()) return it->second;
    return sp_->id_to_piece(id);
  }

  std::size_t vocab_size() const override { return vocab_size_; }

  bool is_special(TokenId id) const override {
    return id >= 0 && std::size_t(id) < vocab_size_ && special_[std::size_t(id)];
  }

 private:
  struct Matcher {
    std::string content;
    TokenId id;
    bool lstrip, rstrip;
  };

  void add_verbatim(TokenId id, const std::string& content, bool lstrip, bool rstrip) {
    if (content.empty()) return;  // nothing to match or write
    if (auto it = added_ids_.find(content); it != added_ids_.end() && it->second == id) return;
    verbatim_[id] = content;
    added_ids_[content] = id;
    matchers_.push_back({content, id, lstrip, rstrip});
    by_first_byte_[static_cast<unsigned char>(content[0])].push_back(matchers_.size() - 1);
  }

  // The longest added token starting at byte i of text.
  const Matcher* match_at(std::string_view text, std::size_t i) const {
    for (std::size_t k : by_first_byte_[static_cast<unsigned char>(text[i])]) {
      const Matcher& m = matchers_[k];
      if (text.compare(i, m.content.size(), m.content) == 0) return &m;
    }
    return nullptr;
  }

  void check_id(TokenId id) const {
    if (id < 0 || std::size_t(id) >= vocab_size_ || !known_[std::size_t(id)])
      throw Error(file_, "token id " + std::to_string(id) + " is outside the vocabulary (size " +
                             std::to_string(vocab_size_) + ")");
  }

  TokenId required(const std::optional<TokenId>& id, const char* what) const {
    if (!id) throw Error(file_, std::string("the tokenizer adds a ") + what + " token but has none");
    return *id;
  }

  std::unique_ptr<SentencePieceProcessor> sp_ = make_sentencepiece_processor();
  std::string file_;
  bool add_bos_, add_eos_;
  TokenId pieces_ = 0;
  std::size_t vocab_size_ = 0;
  std::vector<bool> special_, known_;
  std::unordered_map<TokenId, std::string> verbatim_;  // written as their text by decode
  std::unordered_map<std::string, TokenId> added_ids_;
  std::vector<Matcher> matchers_;
  std::array<std::vector<std::size_t>, 256> by_first_byte_;  // longest first
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const fs::path& model_file, const SentencePieceOptions& options) {
  return std::make_unique<SentencePieceTokenizer>(model_file, options);
}

}  // namespace c2s
