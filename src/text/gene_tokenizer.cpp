#include "text/gene_tokenizer.hpp"

#include <oniguruma.h>

#include <cctype>
#include <mutex>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "data/sentence_store.hpp"
#include "text/builtin_prompts.hpp"
#include "text/prompt_tasks.hpp"
#include "text/utf8.hpp"

namespace c2s {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

namespace {

const std::string kSpace = "\xe2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space

// Characters after which a word starts as after a space: the normalizer
// inserts a space after them (when something other than a newline follows),
// the decoder removes it.
const char kOpeners[] = {'\n', '\t', '\r', '(', '[', '{'};

// The pre-tokenizer's pattern (Oniguruma, Ruby syntax, as `tokenizers` uses),
// applied to normalized text (spaces already "▁"). In order of preference at
// each position:
//   a newline; another ASCII whitespace character;
//   an opening bracket, with the space before it;
//   a digit of a word made of digits only (then trailing punctuation);
//   a word: everything up to the next space, whitespace or opening bracket,
//     less the sentence punctuation and closing brackets at its end;
//   a lone space (before a newline, another space, or at the end).
// Every position matches one of them, so no text falls between matches.
std::string pre_tokenizer_pattern() {
  const std::string trailing = R"([.,;:!?)\]}])";
  const std::string boundary = "(?:[" + kSpace + R"(\t\n\v\f\r(\[{]|\z))";
  return R"(\n|[\t\v\f\r]|)" + kSpace + R"(?[(\[{]|)" + kSpace + "?[0-9](?=[0-9]*" + trailing + "*" + boundary +
         ")|" + kSpace + "?[^" + kSpace + R"(\t\n\v\f\r(\[{]+?(?=)" + trailing + "*" + boundary + ")|" + kSpace;
}

class PreTokenizerRegex {
 public:
  PreTokenizerRegex() {
    static std::once_flag init;
    std::call_once(init, [] {
      OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
      onig_initialize(encodings, 1);
    });
    pattern_ = pre_tokenizer_pattern();
    OnigErrorInfo info;
    auto* p = reinterpret_cast<const OnigUChar*>(pattern_.data());
    int r = onig_new(&regex_, p, p + pattern_.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_RUBY, &info);
    if (r != ONIG_NORMAL) {
      OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
      onig_error_code_to_str(message, r, &info);
      throw Error("gene tokenizer pattern", reinterpret_cast<char*>(message));
    }
  }
  ~PreTokenizerRegex() { onig_free(regex_); }
  PreTokenizerRegex(const PreTokenizerRegex&) = delete;
  PreTokenizerRegex& operator=(const PreTokenizerRegex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // The matches of the pattern over `text` and the text between them (as a
  // Split pre-tokenizer with behavior "Isolated").
  std::vector<std::string> split(const std::string& text) const {
    std::vector<std::string> out;
    OnigRegion* region = onig_region_new();
    auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
    auto* end = begin + text.size();
    std::size_t pos = 0;
    while (pos < text.size()) {
      int r = onig_search(regex_, begin, end, begin + pos, end, region, ONIG_OPTION_NONE);
      if (r < 0) break;  // ONIG_MISMATCH: the rest is one piece
      std::size_t from = std::size_t(region->beg[0]), to = std::size_t(region->end[0]);
      if (from > pos) out.push_back(text.substr(pos, from - pos));
      if (to == from) {  // cannot happen with this pattern; never loop forever
        out.push_back(text.substr(from));
        pos = text.size();
        break;
      }
      out.push_back(text.substr(from, to - from));
      pos = to;
    }
    if (pos < text.size()) out.push_back(text.substr(pos));
    onig_region_free(region, 1);
    return out;
  }

 private:
  std::string pattern_;
  OnigRegex regex_ = nullptr;
};

const PreTokenizerRegex& pre_tokenizer() {
  static const PreTokenizerRegex regex;
  return regex;
}

bool is_opener(char c) {
  for (char o : kOpeners)
    if (c == o) return true;
  return false;
}

// The normalizer: a space after each opener followed by anything but a
// newline, spaces as "▁", and "▁" in front of a non-empty text.
std::string normalize(std::string_view text) {
  std::string out;
  if (text.empty()) return out;
  out.reserve(text.size() + text.size() / 4 + 3);
  out += kSpace;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ') {
      out += kSpace;
      continue;
    }
    out += c;
    if (is_opener(c) && i + 1 < text.size() && text[i + 1] != '\n') out += kSpace;
  }
  return out;
}

// The regex of one Replace normalizer: `c` when something other than a
// newline follows.
std::string opener_pattern(char c) {
  std::string escaped = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : std::string("\\") + c;
  return escaped + "(?=[^\\n])";
}

ordered_json added_token_json(const std::string& content, int id) {
  return {{"id", id},         {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false},  {"normalized", false}, {"special", true}};
}

const char* const kSpecials[] = {"<pad>", "<eos>", "<bos>", "<unk>"};

ordered_json tokenizer_json(const std::vector<std::string>& vocab) {
  ordered_json added = ordered_json::array();
  for (int id = 0; id < 4; ++id) added.push_back(added_token_json(kSpecials[id], id));

  ordered_json normalizers = ordered_json::array();
  for (char c : kOpeners)
    normalizers.push_back({{"type", "Replace"},
                           {"pattern", {{"Regex", opener_pattern(c)}}},
                           {"content", std::string(1, c) + " "}});
  normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kSpace}});
  normalizers.push_back({{"type", "Prepend"}, {"prepend", kSpace}});

  ordered_json decoders = ordered_json::array();
  decoders.push_back({{"type", "Replace"}, {"pattern", {{"String", kSpace}}}, {"content", " "}});
  decoders.push_back({{"type", "Fuse"}});
  for (char c : kOpeners)
    decoders.push_back(
        {{"type", "Replace"}, {"pattern", {{"String", std::string(1, c) + " "}}}, {"content", std::string(1, c)}});
  decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});

  auto special = [](int type_id) { return ordered_json{{"SpecialToken", {{"id", "<bos>"}, {"type_id", type_id}}}}; };
  auto sequence = [](const char* id, int type_id) {
    return ordered_json{{"Sequence", {{"id", id}, {"type_id", type_id}}}};
  };
  ordered_json post = {
      {"type", "TemplateProcessing"},
      {"single", {special(0), sequence("A", 0)}},
      {"pair", {special(0), sequence("A", 0), special(1), sequence("B", 1)}},
      {"special_tokens", {{"<bos>", {{"id", "<bos>"}, {"ids", {2}}, {"tokens", {"<bos>"}}}}}}};

  ordered_json words = ordered_json::object();
  for (std::size_t id = 0; id < vocab.size(); ++id) words[vocab[id]] = id;

  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", {{"type", "Sequence"}, {"normalizers", normalizers}}},
          {"pre_tokenizer",
           {{"type", "Split"},
            {"pattern", {{"Regex", pre_tokenizer().pattern()}}},
            {"behavior", "Isolated"},
            {"invert", false}}},
          {"post_processor", post},
          {"decoder", {{"type", "Sequence"}, {"decoders", decoders}}},
          {"model", {{"type", "WordLevel"}, {"vocab", words}, {"unk_token", "<unk>"}}}};
}

ordered_json tokenizer_config_json() {
  ordered_json decoder = ordered_json::object();
  for (int id = 0; id < 4; ++id)
    decoder[std::to_string(id)] = {{"content", kSpecials[id]}, {"lstrip", false},      {"normalized", false},
                                   {"rstrip", false},          {"single_word", false}, {"special", true}};
  // PreTrainedTokenizerFast keeps tokenizer.json's post-processor as it is;
  // clean_up_tokenization_spaces must stay off or " ." would decode as ".".
  return {{"add_bos_token", true},
          {"add_eos_token", false},
          {"added_tokens_decoder", decoder},
          {"bos_token", "<bos>"},
          {"clean_up_tokenization_spaces", false},
          {"eos_token", "<eos>"},
          {"pad_token", "<pad>"},
          {"tokenizer_class", "PreTrainedTokenizerFast"},
          {"unk_token", "<unk>"}};
}

ordered_json special_tokens_map_json() {
  return {{"bos_token", "<bos>"}, {"eos_token", "<eos>"}, {"pad_token", "<pad>"}, {"unk_token", "<unk>"}};
}

class Vocabulary {
 public:
  // True if `word` is new.
  bool add(const std::string& word) {
    if (ids_.count(word)) return false;
    ids_.emplace(word, words_.size());
    words_.push_back(word);
    return true;
  }
  const std::vector<std::string>& words() const { return words_; }

 private:
  std::unordered_map<std::string, std::size_t> ids_;
  std::vector<std::string> words_;
};

}  // namespace

std::vector<std::string> gene_tokenizer_words(std::string_view text) {
  return pre_tokenizer().split(normalize(text));
}

GeneTokenizerInputs gene_tokenizer_inputs(const SentenceStore& store, const std::vector<std::string>& label_columns,
                                          const std::vector<std::string>& organisms,
                                          const std::vector<std::string>& prompt_files,
                                          std::vector<std::string>* columns_used) {
  GeneTokenizerInputs inputs;
  inputs.genes = store.genes();
  std::vector<std::string> columns = label_columns;
  if (columns.empty())
    for (const auto& c : store.obs().columns)
      if (c.kind != Column::Kind::Numeric && c.name != "split") columns.push_back(c.name);
  for (const auto& name : columns) {
    const Column* c = store.obs().find(name);
    if (!c) {
      std::string known;
      for (const auto& k : store.obs().columns) known += (known.empty() ? "" : ", ") + k.name;
      throw Error(store.path(), "no obs column '" + name + "' (columns: " + (known.empty() ? "none" : known) + ")");
    }
    std::set<std::string> values;
    for (std::size_t i = 0; i < c->size(); ++i)
      if (std::string v = c->text(i); !v.empty()) values.insert(v);
    inputs.labels.insert(inputs.labels.end(), values.begin(), values.end());
  }
  inputs.label_values = inputs.labels.size();
  // Words that prompts carry besides templates and labels: the organism and
  // the multi-cell joiner's "Cell N:".
  inputs.labels.insert(inputs.labels.end(), organisms.begin(), organisms.end());
  inputs.labels.push_back("Cell 1:");
  auto add = [&](const PromptTemplates& set) {
    for (const auto* list : {&set.model_input, &set.response})
      inputs.templates.insert(inputs.templates.end(), list->begin(), list->end());
  };
  for (const auto& spec : task_specs()) add(builtin_prompts(spec.task));
  for (const auto& file : prompt_files) add(PromptTemplates::load(file));
  if (columns_used) *columns_used = columns;
  return inputs;
}

GeneTokenizerSummary write_gene_tokenizer(const GeneTokenizerInputs& inputs, const fs::path& folder) {
  Vocabulary vocab;
  for (const char* s : kSpecials) vocab.add(s);
  for (const char* w : {"\n", "\t", "\r"}) vocab.add(w);
  vocab.add(kSpace);
  for (char c = '!'; c <= '~'; ++c)
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      vocab.add(std::string(1, c));
      vocab.add(kSpace + c);
    }
  for (char d = '0'; d <= '9'; ++d) {
    vocab.add(std::string(1, d));
    vocab.add(kSpace + d);
  }

  GeneTokenizerSummary summary;
  std::vector<std::string> unfit;
  std::size_t n_unfit = 0;
  for (const auto& gene : inputs.genes) {
    utf8::require_valid(gene, "gene name");
    std::vector<std::string> words = gene_tokenizer_words(gene);
    if (gene.empty() || words.size() != 1 || words[0] != kSpace + gene) {
      if (unfit.size() < 5) unfit.push_back("'" + gene + "'");
      ++n_unfit;
      continue;
    }
    if (vocab.add(words[0])) ++summary.genes;
  }
  if (n_unfit) {
    std::string list;
    for (const auto& g : unfit) list += (list.empty() ? "" : ", ") + g;
    throw Error("gene tokenizer", std::to_string(n_unfit) +
                                      " gene name(s) cannot be one token (empty, whitespace inside, made of digits "
                                      "only, or ending in sentence punctuation or a bracket): " + list);
  }
  for (const auto& label : inputs.labels) {
    utf8::require_valid(label, "label value");
    for (const auto& w : gene_tokenizer_words(label)) summary.label_words += vocab.add(w);
  }
  for (const auto& t : inputs.templates) {
    utf8::require_valid(t.text(), t.where());
    for (const auto& part : t.literal_parts())
      for (const auto& w : gene_tokenizer_words(part)) summary.template_words += vocab.add(w);
  }
  summary.vocab_size = vocab.words().size();

  // The folder is replaced as a whole: never one that holds anything else
  // (a model folder's weights, say).
  check_replaceable_folder(folder, {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"},
                           "write the tokenizer to a new or tokenizer-only folder");
  AtomicOutput output(folder);
  fs::create_directories(output.temp_path());
  write_json_file(output.temp_path() / "tokenizer.json", tokenizer_json(vocab.words()));
  write_json_file(output.temp_path() / "tokenizer_config.json", tokenizer_config_json());
  write_json_file(output.temp_path() / "special_tokens_map.json", special_tokens_map_json());
  output.commit();
  return summary;
}

}  // namespace c2s
