// UTF-8 in the text layer: validating input, stepping through code points
// and writing them back. Tokenizers see only text that passed validation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace c2s::utf8 {

// Byte offset of the first invalid sequence (overlong forms, surrogates and
// code points above U+10FFFF are invalid, as in Rust's str), or npos.
std::size_t find_invalid(std::string_view text);
inline bool is_valid(std::string_view text) { return find_invalid(text) == std::string_view::npos; }
// An Error "<context>: invalid UTF-8 at byte N" unless `text` is valid.
void require_valid(std::string_view text, const std::string& context);

// Length of the sequence that starts with lead byte `b` (1 for anything that
// is not a multi-byte lead, so a scan always advances).
inline std::size_t sequence_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xF0) return 4;
  if (b >= 0xE0) return 3;
  if (b >= 0xC0) return 2;
  return 1;
}

// The code point starting at text[i] of valid UTF-8; advances i past it.
inline char32_t next(std::string_view text, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const std::size_t n = sequence_length(b0);
  char32_t cp = n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  i += n;
  return cp;
}

// The code point that ends just before text[i] of valid UTF-8; moves i back.
inline char32_t previous(std::string_view text, std::size_t& i) {
  std::size_t start = i - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  std::size_t j = start;
  const char32_t cp = next(text, j);
  i = start;
  return cp;
}

inline std::size_t encoded_length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// Appends the UTF-8 form of `cp` (a valid scalar value).
inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

inline std::size_t count_code_points(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char b : text) n += (b & 0xC0) != 0x80;
  return n;
}

// Bytes to text the way Rust's String::from_utf8_lossy does: each maximal
// invalid subsequence becomes one U+FFFD.
std::string from_bytes_lossy(std::string_view bytes);

}  // namespace c2s::utf8
