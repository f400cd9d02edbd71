// GPT-2's byte-level scheme: every byte shown as a printable character, and
// its pre-tokenization regex compiled by hand into a scanner.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace c2s::byte_level {

inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The character that stands for byte `b`.
char32_t char_of_byte(std::uint8_t b);
// The byte a character stands for, or -1 for characters outside the
// 256-character alphabet.
int byte_of_char(char32_t c);
// Appends the byte-level spelling of `bytes` (one character per byte).
void append_chars(std::string& out, std::string_view bytes);

// The matches of kGpt2Pattern in `text` (valid UTF-8), which tile it. The
// tokenizers library runs the pattern through Oniguruma; a test checks that
// both cut random text identically.
void split_gpt2(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& matches);

}  // namespace c2s::byte_level
