// Character classes the Hugging Face tokenizers test code points against,
// each defined as the Rust function or regex class it stands for.
#pragma once

namespace c2s::unicode {

// Rust char::is_whitespace (the White_Space property); also what Rust regex
// and Oniguruma mean by \s.
bool is_whitespace(char32_t cp);
// General category L* (\p{L}).
bool is_letter(char32_t cp);
// General category N* (\p{N}, Rust char::is_numeric).
bool is_number(char32_t cp);
// General category P* (Rust's unicode_categories is_punctuation).
bool is_punctuation(char32_t cp);
// The Punctuation pre-tokenizer's test: ASCII punctuation (which includes
// ASCII symbols such as $ + < = > ^ ` | ~) or a P* character.
bool is_punctuation_or_ascii_symbol(char32_t cp);
// Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation
// and the joiners.
bool is_word_char(char32_t cp);
// General category M* (what StripAccents removes after NFD).
bool is_mark(char32_t cp);

}  // namespace c2s::unicode
