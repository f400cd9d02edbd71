// Post-processing of a single sequence. Pair templates are read and checked
// for shape only, since c2s never encodes pairs.
#include "text/hf_post_processors.hpp"

#include <limits>
#include <map>

namespace c2s {
namespace {

// The template pieces of the single-sequence template: the sequence itself
// or the ids of a special token.
struct TemplatePiece {
  bool is_sequence = false;
  std::vector<TokenId> ids;
};

class TemplateProcessor final : public HfPostProcessor {
 public:
  explicit TemplateProcessor(std::vector<TemplatePiece> single) : single_(std::move(single)) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    std::vector<TokenId> out;
    out.reserve(ids.size() + 4);
    for (const auto& p : single_) {
      if (p.is_sequence)
        out.insert(out.end(), ids.begin(), ids.end());
      else if (add_special_tokens)
        out.insert(out.end(), p.ids.begin(), p.ids.end());
    }
    ids = std::move(out);
  }

 private:
  std::vector<TemplatePiece> single_;
};

// RobertaProcessing and BertProcessing: <cls> sequence <sep>.
class ClsSepProcessor final : public HfPostProcessor {
 public:
  ClsSepProcessor(TokenId cls, TokenId sep) : cls_(cls), sep_(sep) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    if (!add_special_tokens) return;
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  TokenId cls_, sep_;
};

class IdentityProcessor final : public HfPostProcessor {
 public:
  void process(std::vector<TokenId>&, bool) const override {}
};

class SequenceProcessor final : public HfPostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<HfPostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<TokenId>& ids, bool add_special_tokens) const override {
    for (const auto& s : steps_) s->process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<HfPostProcessor>> steps_;
};

TokenId parse_id(const HfJsonComponent& c, const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<TokenId>::max()))
    c.fail(what + " is not an id");
  return static_cast<TokenId>(v.get<std::uint64_t>());
}

// ["<s>", 0] as Roberta/Bert write their cls and sep.
TokenId parse_token_pair(const HfJsonComponent& c, const char* field) {
  const auto& v = c.required(field);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string()) c.fail(std::string("field '") + field + "' is not [token, id]");
  return parse_id(c, v[1], std::string("field '") + field + "' id");
}

struct ParsedPiece {
  bool is_sequence;
  bool is_b;
  std::string special;
};

// A piece as serialized ({"Sequence": {"id": "A", "type_id": 0}} or
// {"SpecialToken": {"id": "<s>", "type_id": 0}}) or in the string form of
// the Python API ("$A", "$B:1", "[CLS]", "[SEP]:1").
ParsedPiece parse_piece(const HfJsonComponent& c, const nlohmann::json& v, const std::string& at) {
  if (v.is_object() && v.size() == 1) {
    const auto it = v.begin();
    const std::string& kind = it.key();
    const nlohmann::json& body = it.value();
    if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) c.fail(at + " has no string 'id'");
    const std::string id = body["id"].get<std::string>();
    if (kind == "Sequence") {
      if (id != "A" && id != "B") c.fail(at + ": sequence id must be A or B");
      return {true, id == "B", ""};
    }
    if (kind == "SpecialToken") return {false, false, id};
  } else if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (const auto colon = s.find(':'); colon != std::string::npos) s = s.substr(0, colon);
    if (!s.empty() && s[0] == '$') {
      const std::string rest = s.substr(1);
      if (rest == "B" || rest == "b") return {true, true, ""};
      if (rest.empty() || rest == "A" || rest == "a" || rest.find_first_not_of("0123456789") == std::string::npos)
        return {true, false, ""};
      c.fail(at + ": cannot read template piece '" + v.get<std::string>() + "'");
    }
    return {false, false, s};
  }
  c.fail(at + " is not a template piece");
}

std::vector<ParsedPiece> parse_template(const HfJsonComponent& c, const char* field) {
  const auto& v = c.required(field);
  std::vector<ParsedPiece> pieces;
  if (v.is_string()) {
    // "[CLS] $A [SEP]": pieces separated by single spaces.
    const std::string s = v.get<std::string>();
    std::size_t start = 0;
    while (true) {
      const auto space = s.find(' ', start);
      pieces.push_back(parse_piece(c, s.substr(start, space - start), std::string(field)));
      if (space == std::string::npos) break;
      start = space + 1;
    }
    return pieces;
  }
  if (!v.is_array()) c.fail(std::string("field '") + field + "' is not a template");
  for (std::size_t i = 0; i < v.size(); ++i)
    pieces.push_back(parse_piece(c, v[i], std::string(field) + "[" + std::to_string(i) + "]"));
  return pieces;
}

std::unique_ptr<HfPostProcessor> parse_template_processing(const HfJsonComponent& c) {
  std::map<std::string, std::vector<TokenId>> specials;
  {
    const auto& map = c.object("special_tokens");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string at = "special_tokens['" + it.key() + "']";
      if (!it.value().is_object() || !it.value().contains("ids") || !it.value()["ids"].is_array())
        c.fail(at + " has no 'ids' array");
      std::vector<TokenId> ids;
      for (const auto& id : it.value()["ids"]) ids.push_back(parse_id(c, id, at + " id"));
      specials[it.key()] = std::move(ids);
    }
  }
  std::vector<TemplatePiece> single;
  for (const auto& p : parse_template(c, "single")) {
    if (p.is_sequence) {
      // The library indexes a missing second sequence and panics.
      if (p.is_b) c.fail("the single template uses sequence B");
      single.push_back({true, {}});
      continue;
    }
    auto it = specials.find(p.special);
    if (it == specials.end()) c.fail("special token '" + p.special + "' of the single template is not in special_tokens");
    single.push_back({false, it->second});
  }
  parse_template(c, "pair");
  return std::make_unique<TemplateProcessor>(std::move(single));
}

}  // namespace

std::unique_ptr<HfPostProcessor> parse_hf_post_processor(const nlohmann::json& json, const std::string& where,
                                                         const std::string& file) {
  if (json.is_null()) return nullptr;
  const HfJsonComponent c(json, where, file);
  const std::string type = c.type();
  if (type == "TemplateProcessing") return parse_template_processing(c);
  if (type == "RobertaProcessing" || type == "BertProcessing")
    return std::make_unique<ClsSepProcessor>(parse_token_pair(c, "cls"), parse_token_pair(c, "sep"));
  if (type == "ByteLevel") {
    c.boolean("add_prefix_space");  // offsets only, but required like the library requires them
    c.boolean("trim_offsets");
    return std::make_unique<IdentityProcessor>();
  }
  if (type == "Sequence") {
    return std::make_unique<SequenceProcessor>(c.components("processors", parse_hf_post_processor));
  }
  c.fail("unknown post_processor type '" + type + "'");
}

}  // namespace c2s
