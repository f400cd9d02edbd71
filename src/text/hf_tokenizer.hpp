// Hugging Face tokenizer.json: normalizer, pre-tokenizer, model, added
// tokens, post-processor and decoder, with the semantics of the Rust
// `tokenizers` library.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "text/tokenizer.hpp"

namespace c2s {

// `context` names the source (the file) in error messages. Unknown component
// types are an Error naming the type.
std::unique_ptr<Tokenizer> parse_hf_tokenizer(const nlohmann::json& tokenizer_json, const std::string& context);
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& tokenizer_json);

}  // namespace c2s
