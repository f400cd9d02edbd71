// Tokenizers take UTF-8 text only: the check every encode() makes first.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace c2s {

// Byte offset of the first invalid UTF-8 sequence in `text` (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or npos.
std::size_t find_invalid_utf8(std::string_view text);

// An Error "<context>: invalid UTF-8 at byte N" unless `text` is valid.
void require_valid_utf8(std::string_view text, const std::string& context);

}  // namespace c2s
