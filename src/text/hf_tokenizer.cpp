// TEMPORARY placeholder on the text-base branch; replaced by the real
// implementation before anything reaches main.
#include "text/hf_tokenizer.hpp"

#include "core/error.hpp"

namespace c2s {

std::unique_ptr<Tokenizer> parse_hf_tokenizer(const nlohmann::json&, const std::string& context) {
  throw Error(context, "tokenizer.json support not built yet");
}
std::unique_ptr<Tokenizer> load_hf_tokenizer(const std::filesystem::path& p) {
  throw Error(p.string(), "tokenizer.json support not built yet");
}

}  // namespace c2s
