// BPE as models/bpe/word.rs merges a word: symbols in a linked list, a heap
// of candidate merges ordered by (rank, position), stale candidates skipped.
#include "text/hf_bpe_model.hpp"

#include <cstdio>
#include <queue>

#include "text/hf_vocabulary.hpp"
#include "text/utf8.hpp"

namespace c2s {
namespace {

struct Merge {
  std::uint32_t rank;
  TokenId merged;
};

class BpeModel final : public HfModel {
 public:
  explicit BpeModel(const HfJsonComponent& c);

  void tokenize(std::string_view word, std::vector<TokenId>& ids) const override;
  std::optional<TokenId> token_to_id(std::string_view token) const override { return vocab_.find(token); }
  const std::string* id_to_token(TokenId id) const override { return vocab_.token(id); }
  std::size_t size() const override { return vocab_.size(); }
  void for_each_id(const std::function<void(TokenId)>& fn) const override { vocab_.for_each_id(fn); }

 private:
  static std::uint64_t pair_key(TokenId a, TokenId b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  const Merge* find_merge(TokenId a, TokenId b) const {
    auto it = merges_.find(pair_key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }
  void add_merge(const HfJsonComponent& c, std::size_t rank, const std::string& a, const std::string& b);

  struct Symbol {
    TokenId id;
    std::int32_t prev, next;
    std::uint32_t len;  // bytes; 0 marks a symbol merged into its left neighbour
  };
  void merge_all(std::vector<Symbol>& symbols) const;

  HfVocabulary vocab_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::optional<std::string> unk_token_;
  std::string prefix_, suffix_;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  TokenId byte_ids_[256];  // <0xXX> tokens for byte fallback, -1 when absent
};

BpeModel::BpeModel(const HfJsonComponent& c) : vocab_(c, "vocab") {
  if (const auto* d = c.find("dropout")) {
    if (!d->is_number() || d->get<double>() < 0.0 || d->get<double>() > 1.0)
      c.fail("field 'dropout' must be a number in [0, 1]");
  }
  if (c.find("unk_token")) unk_token_ = c.string("unk_token");
  prefix_ = c.string_or("continuing_subword_prefix", "");
  suffix_ = c.string_or("end_of_word_suffix", "");
  fuse_unk_ = c.boolean_or("fuse_unk", false);
  byte_fallback_ = c.boolean_or("byte_fallback", false);
  ignore_merges_ = c.boolean_or("ignore_merges", false);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = vocab_.find(name).value_or(-1);
  }

  const auto& merges = c.array("merges");
  merges_.reserve(merges.size());
  // Either every merge is "a b" (legacy) or every merge is ["a", "b"].
  const bool legacy = !merges.empty() && merges[0].is_string();
  std::size_t rank = 0;
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const auto& m = merges[i];
    const std::string at = "merges[" + std::to_string(i) + "]";
    if (legacy) {
      if (!m.is_string()) c.fail(at + " is not a string like the merges before it");
      const std::string line = m.get<std::string>();
      if (line.rfind("#version", 0) == 0) continue;
      const auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        c.fail(at + " '" + line + "' is not two tokens separated by one space");
      add_merge(c, rank++, line.substr(0, space), line.substr(space + 1));
    } else {
      if (!m.is_array() || m.size() != 2 || !m[0].is_string() || !m[1].is_string())
        c.fail(at + " is not a pair of strings");
      add_merge(c, rank++, m[0].get<std::string>(), m[1].get<std::string>());
    }
  }
}

void BpeModel::add_merge(const HfJsonComponent& c, std::size_t rank, const std::string& a, const std::string& b) {
  const std::string at = "merges[" + std::to_string(rank) + "]";
  const auto a_id = vocab_.find(a);
  if (!a_id) c.fail(at + ": token '" + a + "' is not in the vocabulary");
  const auto b_id = vocab_.find(b);
  if (!b_id) c.fail(at + ": token '" + b + "' is not in the vocabulary");
  if (prefix_.size() > b.size() || (prefix_.size() < b.size() && (static_cast<unsigned char>(b[prefix_.size()]) & 0xC0) == 0x80))
    c.fail(at + ": token '" + b + "' is shorter than the continuing_subword_prefix");
  const std::string merged = a + b.substr(prefix_.size());
  const auto merged_id = vocab_.find(merged);
  if (!merged_id) c.fail(at + ": merged token '" + merged + "' is not in the vocabulary");
  // A repeated pair keeps its last rank, as the library's HashMap does.
  merges_[pair_key(*a_id, *b_id)] = Merge{static_cast<std::uint32_t>(rank), *merged_id};
}

void BpeModel::tokenize(std::string_view word, std::vector<TokenId>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto id = vocab_.find(word)) {
      ids.push_back(*id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](TokenId id, std::size_t len) {
    const auto n = static_cast<std::int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, static_cast<std::uint32_t>(len)});
  };
  // A pending unk token and its byte length (0: none pending).
  TokenId unk_id = -1;
  std::size_t unk_len = 0;
  std::string piece;
  for (std::size_t i = 0; i < word.size();) {
    const std::size_t start = i;
    i += utf8::sequence_length(static_cast<unsigned char>(word[i]));
    const std::size_t byte_len = i - start;
    std::string_view s = word.substr(start, byte_len);
    if ((!prefix_.empty() && start > 0) || (!suffix_.empty() && i == word.size())) {
      piece.clear();
      if (start > 0) piece += prefix_;
      piece += s;
      if (i == word.size()) piece += suffix_;
      s = piece;
    }
    if (const auto id = vocab_.find(s)) {
      if (unk_len) {
        add(unk_id, unk_len);
        unk_len = 0;
      }
      add(*id, byte_len);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char b : s) all = all && byte_ids_[b] >= 0;
      if (all) {
        // The library adds these without first flushing a pending unk.
        for (unsigned char b : s) add(byte_ids_[b], 1);
        continue;
      }
    }
    if (unk_token_) {
      const auto id = vocab_.find(*unk_token_);
      if (!id) throw Error("BPE model: unk_token '" + *unk_token_ + "' is not in the vocabulary");
      if (unk_len && fuse_unk_) {
        unk_len += byte_len;
      } else {
        if (unk_len) add(unk_id, unk_len);
        unk_id = *id;
        unk_len = byte_len;
      }
    }
  }
  if (unk_len) add(unk_id, unk_len);
  merge_all(symbols);
  for (const auto& s : symbols)
    if (s.len != 0) ids.push_back(s.id);
}

void BpeModel::merge_all(std::vector<Symbol>& symbols) const {
  struct Candidate {
    std::uint32_t rank;
    std::int32_t pos;
    TokenId merged;
    // std::priority_queue puts the greatest on top: lowest rank, then
    // leftmost position, must compare greatest.
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Candidate> storage;
  storage.reserve(symbols.size());
  std::priority_queue<Candidate> queue(std::less<Candidate>(), std::move(storage));
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id))
      queue.push({m->rank, static_cast<std::int32_t>(i), m->merged});

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[static_cast<std::size_t>(top.pos)];
    if (cur.len == 0 || cur.next == -1) continue;
    const std::int32_t next_pos = cur.next;
    const Symbol right = symbols[static_cast<std::size_t>(next_pos)];
    const Merge* m = find_merge(cur.id, right.id);
    if (!m || m->merged != top.merged) continue;  // stale

    cur.id = top.merged;
    cur.len += right.len;
    cur.next = right.next;
    symbols[static_cast<std::size_t>(next_pos)].len = 0;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;

    if (cur.prev >= 0) {
      const Symbol& prev = symbols[static_cast<std::size_t>(cur.prev)];
      if (const Merge* pm = find_merge(prev.id, cur.id)) queue.push({pm->rank, cur.prev, pm->merged});
    }
    if (cur.next >= 0) {
      const Symbol& next = symbols[static_cast<std::size_t>(cur.next)];
      if (const Merge* nm = find_merge(cur.id, next.id)) queue.push({nm->rank, top.pos, nm->merged});
    }
  }
}

}  // namespace

std::unique_ptr<HfModel> parse_hf_bpe_model(const HfJsonComponent& model) { return std::make_unique<BpeModel>(model); }

}  // namespace c2s
