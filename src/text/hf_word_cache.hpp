// Memo of pre-tokenized word -> ids for one tokenizer: cell sentences repeat
// the same few thousand gene words, so nearly every word is a lookup.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer.hpp"

namespace c2s {

// Open-addressing table of word -> ids with its keys and ids in two arenas;
// cleared whole when full. Not thread-safe: one per thread.
class WordIdTable {
 public:
  static constexpr std::size_t kMaxEntries = 1u << 15;
  static constexpr std::size_t kMaxKeyBytes = 1u << 20;
  // Longer words are not cached (the Rust library's limit too).
  static constexpr std::size_t kMaxWordBytes = 255;

  WordIdTable() : slots_(2 * kMaxEntries, 0) {}

  static std::uint64_t hash(std::string_view word) {
    // FNV-1a: the words are short and mostly ASCII.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : word) h = (h ^ c) * 0x100000001b3ULL;
    return h ^ (h >> 29);
  }

  // Appends the ids of `word` and returns true when it is present.
  bool find(std::string_view word, std::uint64_t h, std::vector<TokenId>& out) const {
    for (std::size_t s = h & kMask;; s = (s + 1) & kMask) {
      const std::uint32_t e = slots_[s];
      if (e == 0) return false;
      const Entry& entry = entries_[e - 1];
      if (entry.hash == h && entry.key_len == word.size() &&
          std::string_view(keys_).substr(entry.key_off, entry.key_len) == word) {
        out.insert(out.end(), ids_.begin() + entry.ids_off, ids_.begin() + entry.ids_off + entry.ids_len);
        return true;
      }
    }
  }

  void insert(std::string_view word, std::uint64_t h, const TokenId* ids, std::size_t n) {
    if (word.size() > kMaxWordBytes || n > 0xFFFF) return;
    if (entries_.size() >= kMaxEntries || keys_.size() + word.size() > kMaxKeyBytes || ids_.size() + n > kMaxKeyBytes)
      clear();
    std::size_t s = h & kMask;
    while (slots_[s] != 0) s = (s + 1) & kMask;
    entries_.push_back({h, static_cast<std::uint32_t>(keys_.size()), static_cast<std::uint32_t>(ids_.size()),
                        static_cast<std::uint16_t>(word.size()), static_cast<std::uint16_t>(n)});
    keys_.append(word);
    ids_.insert(ids_.end(), ids, ids + n);
    slots_[s] = static_cast<std::uint32_t>(entries_.size());
  }

  void clear() {
    std::fill(slots_.begin(), slots_.end(), 0);
    entries_.clear();
    keys_.clear();
    ids_.clear();
  }

 private:
  static constexpr std::size_t kMask = 2 * kMaxEntries - 1;
  struct Entry {
    std::uint64_t hash;
    std::uint32_t key_off, ids_off;
    std::uint16_t key_len, ids_len;
  };
  std::vector<std::uint32_t> slots_;  // entry index + 1, 0 = empty
  std::vector<Entry> entries_;
  std::string keys_;
  std::vector<TokenId> ids_;
};

// Each thread keeps its own bounded tables (the read path takes no lock and
// shares no cache line), found by the tokenizer's serial number, which is
// never reused, so a table never outlives the tokenizer it belongs to.
class HfWordCache {
 public:
  HfWordCache();
  // This thread's table for this tokenizer (each thread holds tables for
  // its four most recently used tokenizers).
  WordIdTable& thread_table() const;

 private:
  std::uint64_t serial_;
};

}  // namespace c2s
