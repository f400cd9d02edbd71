#include "text/utf8_validation.hpp"

#include <utf8proc.h>

#include "core/error.hpp"

namespace c2s {

std::size_t find_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {  // ASCII fast path: most text is plain gene names
      ++i;
      continue;
    }
    utf8proc_int32_t code_point;
    utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                          utf8proc_ssize_t(text.size() - i), &code_point);
    if (n <= 0 || code_point < 0) return i;
    i += std::size_t(n);
  }
  return std::string_view::npos;
}

void require_valid_utf8(std::string_view text, const std::string& context) {
  std::size_t at = find_invalid_utf8(text);
  if (at != std::string_view::npos) throw Error(context, "invalid UTF-8 at byte " + std::to_string(at));
}

}  // namespace c2s
