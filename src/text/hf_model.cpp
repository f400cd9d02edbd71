// Picks the model by its "type"; files written before the tag existed are
// recognised by their fields, as the library's untagged fallback does.
#include "text/hf_model.hpp"

#include "text/hf_bpe_model.hpp"
#include "text/hf_unigram_model.hpp"
#include "text/hf_word_level_model.hpp"

namespace c2s {

std::unique_ptr<HfModel> parse_hf_model(const nlohmann::json& json, const std::string& where, const std::string& file) {
  if (json.is_null()) throw Error(file, "missing model");
  const HfJsonComponent c(json, where, file);
  std::string type;
  if (c.find("type")) {
    type = c.type();
  } else if (c.find("merges")) {
    type = "BPE";
  } else if (c.find("vocab") && c.json()["vocab"].is_array()) {
    type = "Unigram";
  } else if (c.find("max_input_chars_per_word")) {
    type = "WordPiece";
  } else {
    type = "WordLevel";
  }
  if (type == "BPE") return parse_hf_bpe_model(c);
  if (type == "Unigram") return parse_hf_unigram_model(c);
  if (type == "WordLevel") return parse_hf_word_level_model(c);
  if (type == "WordPiece") c.fail("model type 'WordPiece' is not supported by c2s");
  c.fail("unknown model type '" + type + "'");
}

}  // namespace c2s
