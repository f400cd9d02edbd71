// Unicode normal forms and lowercasing (utf8proc), as the NFC/NFD/NFKC/NFKD
// and Lowercase normalizers apply them.
#pragma once
#include <string>
#include <string_view>

namespace c2s::unicode {

enum class NormalForm { NFC, NFD, NFKC, NFKD };

// `text` (valid UTF-8) in the given normal form.
std::string normalize(std::string_view text, NormalForm form);
// Rust's char::to_lowercase applied to each character: the full mapping,
// so U+0130 becomes "i" + U+0307.
std::string to_lowercase(std::string_view text);

}  // namespace c2s::unicode
