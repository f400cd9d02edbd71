// `c2s tokenize --tokenizer PATH`: lines of text in, one JSON object per line
// out (ids, tokens, decoded text), to check a tokenizer against Hugging Face.
#include <iostream>

#include "cli/command_context.hpp"
#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "text/tokenizer.hpp"
#include "text/utf8.hpp"

namespace c2s {

namespace {

// A line that parses as a JSON string is that string (so any text, newlines
// included, can be given); any other line is taken as it is.
std::string line_text(const std::string& line) {
  if (!line.empty() && line.front() == '"') {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_string()) return j.get<std::string>();
  }
  return line;
}

}  // namespace

void add_tokenize_command(CommandSet& set) {
  struct Args {
    std::string tokenizer;
    bool add_special = false, skip_special = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand(
      "tokenize", "Tokenize stdin, one text per line (a JSON string or plain text): JSON lines of ids, tokens, decoded");
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer.json, tokenizer.model, or a model folder")->required();
  cmd->add_flag("--add-special-tokens", args->add_special, "Add BOS/EOS as the tokenizer's configuration says");
  cmd->add_flag("--skip-special-tokens", args->skip_special, "Leave special tokens out of the decoded text");
  set.add(cmd, [args] {
    auto tokenizer = load_tokenizer(args->tokenizer);
    constexpr std::size_t kBatch = 4096;
    std::vector<std::string> texts, lines;
    std::int64_t line_no = 0;
    auto flush = [&] {
      auto ids = tokenizer->encode_batch(texts, args->add_special);
      lines.assign(texts.size(), {});
      ThreadPool::global().parallel_for(texts.size(), [&](std::size_t i) {
        nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
        for (TokenId id : ids[i]) tokens.push_back(tokenizer->id_to_token(id));
        nlohmann::ordered_json out = {{"ids", ids[i]},
                              {"tokens", tokens},
                              {"decoded", tokenizer->decode(ids[i], args->skip_special)}};
        // Byte-level tokens may be partial characters: never fail on output.
        lines[i] = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      });
      for (const auto& l : lines) std::cout << l << '\n';
      texts.clear();
    };
    std::string line;
    while (std::getline(std::cin, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string text = line_text(line);
      if (!utf8::is_valid(text)) {
        flush();  // the lines before it are answered
        utf8::require_valid(text, "stdin line " + std::to_string(line_no));
      }
      texts.push_back(std::move(text));
      if (texts.size() == kBatch) flush();
    }
    flush();
    std::cout.flush();
    if (!std::cout) throw Error("stdout", "cannot write the output");
  });
}

}  // namespace c2s
