// The pieces one text is cut into on its way through a tokenizer.json
// pipeline: stretches of (normalized) text still to be cut and tokenized,
// and added tokens already recognised, whose ids pass through untouched.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

struct PreToken {
  std::uint32_t begin = 0, end = 0;  // bytes of PreTokens::text
  // The piece starts where the input text starts (Rust: its original offset
  // is 0), which Metaspace's prepend_scheme "first" asks about.
  bool at_text_start = false;
  TokenId added_id = -1;  // >= 0: an added token, never cut or tokenized
};

class PreTokens {
 public:
  void clear() {
    text_.clear();
    pieces_.clear();
  }
  const std::vector<PreToken>& pieces() const { return pieces_; }
  std::string_view view(const PreToken& p) const { return std::string_view(text_).substr(p.begin, p.end - p.begin); }

  // Appends a text piece (empty pieces are dropped, as the Rust library
  // drops empty splits).
  void add(std::string_view piece, bool at_text_start) {
    if (piece.empty()) return;
    const auto begin = static_cast<std::uint32_t>(text_.size());
    text_.append(piece);
    check_size();
    pieces_.push_back({begin, static_cast<std::uint32_t>(text_.size()), at_text_start, -1});
  }
  void add_added(TokenId id) { pieces_.push_back({0, 0, false, id}); }

  // Building a piece in place: begin_piece(), then append to text(), then
  // end_piece(); an empty piece is dropped.
  std::string& text() { return text_; }
  std::size_t begin_piece() const { return text_.size(); }
  void end_piece(std::size_t begin, bool at_text_start) {
    if (text_.size() == begin) return;
    check_size();
    pieces_.push_back({static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(text_.size()), at_text_start, -1});
  }

 private:
  // Offsets are 32-bit; a normalizer or pre-tokenizer that grows a large
  // input past 4 GiB is refused rather than wrapped.
  void check_size() const {
    if (text_.size() > 0xFFFFFFFFu) throw Error("tokenizer: text grew past 4 GiB while being cut into pieces");
  }

  std::string text_;
  std::vector<PreToken> pieces_;
};

}  // namespace c2s
