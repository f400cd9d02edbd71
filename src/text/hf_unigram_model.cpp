// Unigram encoding as models/unigram/model.rs encode_optimized does it:
// best path scores in f64, ties kept by the first (shortest) candidate, and
// the unknown-character penalty of min score - 10.
#include "text/hf_unigram_model.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "text/hf_vocabulary.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

constexpr double kUnkPenalty = 10.0;

// A byte trie of the vocabulary flattened into arrays: node n's children are
// child_label/child_node[first_child[n] .. first_child[n + 1]), sorted.
class PieceTrie {
 public:
  void build(const std::vector<std::string>& pieces, const std::vector<TokenId>& ids);
  // Calls fn(length, id) for every vocabulary piece that prefixes `s`,
  // shortest first.
  template <class Fn>
  void common_prefixes(std::string_view s, Fn&& fn) const {
    std::uint32_t node = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto b = static_cast<unsigned char>(s[i]);
      const std::uint32_t lo = first_child_[node], hi = first_child_[node + 1];
      std::uint32_t found = 0;
      bool ok = false;
      for (std::uint32_t k = lo; k < hi; ++k) {
        if (child_label_[k] == b) {
          found = child_node_[k];
          ok = true;
          break;
        }
        if (child_label_[k] > b) break;
      }
      if (!ok) return;
      node = found;
      if (piece_id_[node] >= 0) fn(i + 1, piece_id_[node]);
    }
  }

 private:
  std::vector<std::uint32_t> first_child_;
  std::vector<std::uint8_t> child_label_;
  std::vector<std::uint32_t> child_node_;
  std::vector<TokenId> piece_id_;
};

void PieceTrie::build(const std::vector<std::string>& pieces, const std::vector<TokenId>& ids) {
  // Build with per-node maps, then flatten.
  std::vector<std::vector<std::pair<std::uint8_t, std::uint32_t>>> children(1);
  std::vector<TokenId> piece_id(1, -1);
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    std::uint32_t node = 0;
    for (unsigned char b : pieces[p]) {
      std::uint32_t next = 0;
      for (const auto& [label, child] : children[node])
        if (label == b) next = child;
      if (next == 0) {
        next = static_cast<std::uint32_t>(children.size());
        children[node].emplace_back(b, next);
        children.emplace_back();
        piece_id.push_back(-1);
      }
      node = next;
    }
    if (node != 0) piece_id[node] = ids[p];
  }
  first_child_.assign(children.size() + 1, 0);
  for (std::size_t n = 0; n < children.size(); ++n) {
    auto& c = children[n];
    std::sort(c.begin(), c.end());
    first_child_[n + 1] = first_child_[n] + static_cast<std::uint32_t>(c.size());
    for (const auto& [label, child] : c) {
      child_label_.push_back(label);
      child_node_.push_back(child);
    }
  }
  piece_id_ = std::move(piece_id);
}

class UnigramModel final : public HfModel {
 public:
  explicit UnigramModel(const HfJsonComponent& c);

  void tokenize(std::string_view word, std::vector<TokenId>& ids) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override {
    auto it = ids_.find(token);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* id_to_token(TokenId id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < pieces_.size() ? &pieces_[static_cast<std::size_t>(id)] : nullptr;
  }
  std::size_t size() const override { return pieces_.size(); }
  void for_each_id(const std::function<void(TokenId)>& fn) const override {
    for (std::size_t i = 0; i < pieces_.size(); ++i) fn(static_cast<TokenId>(i));
  }

 private:
  std::vector<std::string> pieces_;
  std::vector<double> scores_;
  StringMap<TokenId> ids_;  // a repeated piece maps to its last id
  PieceTrie trie_;
  std::optional<TokenId> unk_id_;
  double min_score_ = std::numeric_limits<double>::infinity();
  bool byte_fallback_ = false;
  TokenId byte_ids_[256];
};

UnigramModel::UnigramModel(const HfJsonComponent& c) {
  const auto& vocab = c.array("vocab");
  pieces_.reserve(vocab.size());
  scores_.reserve(vocab.size());
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const auto& e = vocab[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      c.fail("vocab[" + std::to_string(i) + "] is not a [piece, score] pair");
    std::string piece = e[0].get<std::string>();
    if (!utf8::is_valid(piece)) c.fail("vocab[" + std::to_string(i) + "] is not valid UTF-8");
    if (pieces_.size() >= static_cast<std::size_t>(std::numeric_limits<TokenId>::max())) c.fail("vocab is too large");
    ids_[piece] = static_cast<TokenId>(i);
    pieces_.push_back(std::move(piece));
    scores_.push_back(e[1].get<double>());
    min_score_ = std::min(min_score_, scores_.back());
  }
  if (const auto* u = c.find("unk_id")) {
    if (!u->is_number_unsigned()) c.fail("field 'unk_id' is not a non-negative integer");
    if (pieces_.empty()) c.fail("the vocabulary is empty but unk_id is set");
    if (u->get<std::uint64_t>() >= pieces_.size()) c.fail("unk_id is outside the vocabulary");
    unk_id_ = static_cast<TokenId>(u->get<std::uint64_t>());
  }
  byte_fallback_ = c.boolean_or("byte_fallback", false);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = ids_.find(std::string_view(name));
    byte_ids_[b] = it == ids_.end() ? -1 : it->second;
  }
  // The trie holds each distinct piece once, resolving to the id the
  // token map gives it.
  std::vector<TokenId> trie_ids(pieces_.size());
  for (std::size_t i = 0; i < pieces_.size(); ++i) trie_ids[i] = ids_.find(pieces_[i])->second;
  trie_.build(pieces_, trie_ids);
}

void UnigramModel::tokenize(std::string_view word, std::vector<TokenId>& ids) const {
  if (word.empty()) return;
  struct Node {
    TokenId id = 0;
    double score = 0;
    std::int64_t starts_at = -1;
  };
  const std::size_t size = word.size();
  const double unk_score = min_score_ - kUnkPenalty;
  std::vector<Node> best(size + 1);
  for (std::size_t start = 0; start < size;) {
    const double here = best[start].score;
    const std::size_t char_len = utf8::sequence_length(static_cast<unsigned char>(word[start]));
    bool has_single = false;
    trie_.common_prefixes(word.substr(start), [&](std::size_t len, TokenId id) {
      Node& target = best[start + len];
      const double candidate = scores_[static_cast<std::size_t>(id)] + here;
      if (target.starts_at < 0 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<std::int64_t>(start);
        target.id = id;
      }
      if (len == char_len) has_single = true;
    });
    if (!has_single) {
      Node& target = best[start + char_len];
      const double candidate = unk_score + here;
      if (target.starts_at < 0 || candidate > target.score) {
        if (!unk_id_) throw Error("Unigram model: unknown character but the model has no unk_id");
        target.score = candidate;
        target.starts_at = static_cast<std::int64_t>(start);
        target.id = *unk_id_;
      }
    }
    start += char_len;
  }

  // Back from the end: runs of unknown pieces fuse into one.
  std::vector<std::pair<std::size_t, std::size_t>> pieces;  // byte ranges, reversed
  std::size_t end = size, fused_begin = 0, fused_end = 0;
  bool fusing = false;
  while (end > 0) {
    const Node& node = best[end];
    const auto start = static_cast<std::size_t>(node.starts_at);
    if (unk_id_ && node.id == *unk_id_) {
      if (!fusing) fused_end = end;
      fusing = true;
      fused_begin = start;
    } else {
      if (fusing) pieces.emplace_back(fused_begin, fused_end);
      fusing = false;
      pieces.emplace_back(start, end);
    }
    end = start;
  }
  if (fusing) pieces.emplace_back(fused_begin, fused_end);

  for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
    const std::string_view piece = word.substr(it->first, it->second - it->first);
    if (auto found = ids_.find(piece); found != ids_.end()) {
      ids.push_back(found->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char b : piece) all = all && byte_ids_[b] >= 0;
      if (all) {
        for (unsigned char b : piece) ids.push_back(byte_ids_[b]);
        continue;
      }
    }
    if (!unk_id_) throw Error("Unigram model: unknown piece but the model has no unk_id");
    ids.push_back(*unk_id_);
  }
}

}  // namespace

std::unique_ptr<HfModel> parse_hf_unigram_model(const HfJsonComponent& model) {
  return std::make_unique<UnigramModel>(model);
}

}  // namespace c2s
