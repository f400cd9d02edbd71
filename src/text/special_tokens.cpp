#include "text/special_tokens.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/json_file.hpp"

namespace c2s {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kRoles[] = {"bos_token", "eos_token", "unk_token", "pad_token"};

// What transformers' tokenizer classes assume when a folder names nothing.
struct ClassDefaults {
  std::map<std::string, std::optional<std::string>> tokens;
  bool add_bos = false, add_eos = false, rebuilds_post_processor = false;
};

const ClassDefaults* class_defaults(const std::string& tokenizer_class) {
  static const ClassDefaults gemma{
      {{"bos_token", "<bos>"}, {"eos_token", "<eos>"}, {"unk_token", "<unk>"}, {"pad_token", "<pad>"}},
      true, false, true};
  static const ClassDefaults llama{
      {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"pad_token", std::nullopt}},
      true, false, true};
  static const ClassDefaults neox{{{"bos_token", "<|endoftext|>"},
                                   {"eos_token", "<|endoftext|>"},
                                   {"unk_token", "<|endoftext|>"},
                                   {"pad_token", std::nullopt}},
                                  false, false, true};
  static const ClassDefaults gpt2{{{"bos_token", "<|endoftext|>"},
                                   {"eos_token", "<|endoftext|>"},
                                   {"unk_token", "<|endoftext|>"},
                                   {"pad_token", std::nullopt}},
                                  false, false, false};
  std::string name = tokenizer_class;
  if (name.ends_with("Fast")) name.resize(name.size() - 4);
  if (name == "GemmaTokenizer") return &gemma;
  if (name == "LlamaTokenizer" || name == "CodeLlamaTokenizer") return &llama;
  if (name == "GPTNeoXTokenizer") return &neox;
  if (name == "GPT2Tokenizer") return &gpt2;
  return nullptr;
}

// A special token as the files write it: a string, null, or an AddedToken
// dict {"content": ..., ...}.
std::optional<std::string> token_content(const json& value, const std::string& file, const std::string& field) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  throw Error(file, "field '" + field + "': expected a string, null or {\"content\": ...}");
}

std::optional<bool> optional_bool(const json& doc, const char* field, const std::string& file) {
  if (!doc.contains(field) || doc[field].is_null()) return std::nullopt;
  if (!doc[field].is_boolean()) throw Error(file, std::string("field '") + field + "': expected true or false");
  return doc[field].get<bool>();
}

json read_object(const fs::path& path) {
  json doc = read_json_file(path);
  if (!doc.is_object()) throw Error(path.string(), "expected a JSON object");
  return doc;
}

void add_unique(std::vector<std::string>& list, const std::string& s) {
  if (std::find(list.begin(), list.end(), s) == list.end()) list.push_back(s);
}

void read_additional(const json& value, const std::string& file, std::vector<std::string>& out) {
  if (value.is_null()) return;
  if (!value.is_array()) throw Error(file, "field 'additional_special_tokens': expected a list");
  for (const auto& t : value)
    if (auto s = token_content(t, file, "additional_special_tokens")) add_unique(out, *s);
}

void read_tokenizer_config(const fs::path& path, TokenizerFolderConfig& c, bool& has_added_tokens_decoder) {
  const std::string file = path.string();
  json doc = read_object(path);
  if (doc.contains("tokenizer_class") && !doc["tokenizer_class"].is_null()) {
    if (!doc["tokenizer_class"].is_string()) throw Error(file, "field 'tokenizer_class': expected a string");
    c.tokenizer_class = doc["tokenizer_class"].get<std::string>();
  }
  c.add_bos_token = optional_bool(doc, "add_bos_token", file);
  c.add_eos_token = optional_bool(doc, "add_eos_token", file);
  for (const char* role : kRoles)
    if (doc.contains(role)) c.special_tokens[role] = token_content(doc[role], file, role);
  if (doc.contains("additional_special_tokens")) read_additional(doc["additional_special_tokens"], file, c.additional_special_tokens);
  has_added_tokens_decoder = doc.contains("added_tokens_decoder");
  if (!has_added_tokens_decoder) return;
  const json& decoder = doc["added_tokens_decoder"];
  if (!decoder.is_object()) throw Error(file, "field 'added_tokens_decoder': expected an object of id -> token");
  for (const auto& [key, token] : decoder.items()) {
    const std::string field = "added_tokens_decoder." + key;
    AddedTokenSpec spec;
    try {
      std::size_t used = 0;
      long id = std::stol(key, &used);
      if (used != key.size() || id < 0 || id > INT32_MAX) throw std::invalid_argument(key);
      spec.id = TokenId(id);
    } catch (const std::exception&) {
      throw Error(file, "field '" + field + "': the key is not a token id");
    }
    if (!token.is_object()) throw Error(file, "field '" + field + "': expected {\"content\": ...}");
    auto content = token_content(token, file, field);
    if (!content || content->empty()) throw Error(file, "field '" + field + "': no content");
    spec.content = *content;
    auto flag = [&, &entry = token](const char* name) { return optional_bool(entry, name, file).value_or(false); };
    spec.special = flag("special");
    spec.lstrip = flag("lstrip");
    spec.rstrip = flag("rstrip");
    c.added_tokens.push_back(spec);
  }
  std::sort(c.added_tokens.begin(), c.added_tokens.end(),
            [](const AddedTokenSpec& a, const AddedTokenSpec& b) { return a.id < b.id; });
}

void read_special_tokens_map(const fs::path& path, TokenizerFolderConfig& c) {
  const std::string file = path.string();
  json doc = read_object(path);
  for (const char* role : kRoles)
    if (doc.contains(role)) c.special_tokens[role] = token_content(doc[role], file, role);
  if (doc.contains("additional_special_tokens"))
    read_additional(doc["additional_special_tokens"], file, c.additional_special_tokens);
}

void read_generation_config(const fs::path& path, TokenizerFolderConfig& c) {
  const std::string file = path.string();
  json doc = read_object(path);
  if (!doc.contains("eos_token_id") || doc["eos_token_id"].is_null()) return;
  const json& eos = doc["eos_token_id"];
  auto id_of = [&](const json& v) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > INT32_MAX)
      throw Error(file, "field 'eos_token_id': expected a token id or a list of them");
    return TokenId(v.get<std::int64_t>());
  };
  if (eos.is_array()) {
    for (const auto& v : eos) c.generation_eos.push_back(id_of(v));
  } else {
    c.generation_eos.push_back(id_of(eos));
  }
}

}  // namespace

TokenizerFolderConfig read_tokenizer_folder_config(const fs::path& folder) {
  TokenizerFolderConfig c;
  std::error_code ec;
  bool has_added_tokens_decoder = false;
  if (fs::exists(folder / "tokenizer_config.json", ec))
    read_tokenizer_config(folder / "tokenizer_config.json", c, has_added_tokens_decoder);
  // transformers 4.44 reads the map only for folders in the older format
  // (no added_tokens_decoder); it then overrides tokenizer_config.json.
  if (!has_added_tokens_decoder && fs::exists(folder / "special_tokens_map.json", ec))
    read_special_tokens_map(folder / "special_tokens_map.json", c);
  if (fs::exists(folder / "generation_config.json", ec)) read_generation_config(folder / "generation_config.json", c);
  return c;
}

std::optional<std::optional<std::string>> special_token_string(const TokenizerFolderConfig& config,
                                                                std::string_view role) {
  if (auto it = config.special_tokens.find(std::string(role)); it != config.special_tokens.end()) return it->second;
  if (const ClassDefaults* d = class_defaults(config.tokenizer_class))
    if (auto it = d->tokens.find(std::string(role)); it != d->tokens.end()) return it->second;
  return std::nullopt;
}

bool adds_bos_token(const TokenizerFolderConfig& config) {
  if (config.add_bos_token) return *config.add_bos_token;
  const ClassDefaults* d = class_defaults(config.tokenizer_class);
  return d ? d->add_bos : true;
}

bool adds_eos_token(const TokenizerFolderConfig& config) {
  if (config.add_eos_token) return *config.add_eos_token;
  const ClassDefaults* d = class_defaults(config.tokenizer_class);
  return d ? d->add_eos : false;
}

bool rebuilds_post_processor(const TokenizerFolderConfig& config) {
  const ClassDefaults* d = class_defaults(config.tokenizer_class);
  return d && d->rebuilds_post_processor;
}

std::vector<std::string> special_token_strings(const TokenizerFolderConfig& config) {
  std::vector<std::string> out;
  for (const char* role : kRoles)
    if (auto s = special_token_string(config, role); s && *s) add_unique(out, **s);
  for (const auto& s : config.additional_special_tokens) add_unique(out, s);
  for (const auto& t : config.added_tokens)
    if (t.special) add_unique(out, t.content);
  return out;
}

SpecialTokenIds resolve_special_token_ids(const Tokenizer& tokenizer, const TokenizerFolderConfig& config,
                                          const SpecialTokenIds& fallback) {
  SpecialTokenIds ids;
  auto resolve = [&](const char* role, const std::optional<TokenId>& fallback_id) -> std::optional<TokenId> {
    auto s = special_token_string(config, role);
    if (!s) return fallback_id;
    if (!*s) return std::nullopt;
    return tokenizer.token_to_id(**s);
  };
  ids.bos = resolve("bos_token", fallback.bos);
  ids.eos = resolve("eos_token", fallback.eos);
  ids.unk = resolve("unk_token", fallback.unk);
  ids.pad = resolve("pad_token", fallback.pad);
  ids.generation_eos = config.generation_eos;
  return ids;
}

}  // namespace c2s
