// `c2s score`: the log-likelihood of candidate answers (e.g. cell type labels)
// after each prompt, to choose among them; one JSON line per prompt
// (docs/formats/score-jsonl.md).
#include <filesystem>
#include <map>
#include <optional>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "cli/model/result_lines.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "engine/continuation_scorer.hpp"
#include "io/line_reader.hpp"

namespace c2s {

namespace {

// A candidate as given: text (tokenized after the prompt, see
// candidate_text) or token ids.
struct Candidate {
  nlohmann::json given;  // echoed in the output
  std::optional<std::string> text;
  std::vector<std::int64_t> ids;
};

Candidate text_candidate(const std::string& text) { return {text, text, {}}; }

Candidate candidate_from_json(const nlohmann::json& v, const std::string& where) {
  const std::string expected = "each candidate must be a non-empty string or a non-empty list of token ids";
  if (v.is_string()) {
    if (v.get<std::string>().empty()) throw Error(where, expected);
    return text_candidate(v.get<std::string>());
  }
  if (!v.is_array() || v.empty()) throw Error(where, expected);
  Candidate c{v, std::nullopt, {}};
  for (const auto& id : v) {
    if (!id.is_number_integer()) throw Error(where, expected);
    c.ids.push_back(id.get<std::int64_t>());
  }
  return c;
}

std::vector<Candidate> read_candidate_file(const std::string& path) {
  LineReader reader(path);
  std::vector<Candidate> out;
  std::string_view line;
  while (reader.next(line))
    if (!line.empty()) out.push_back(text_candidate(std::string(line)));
  if (out.empty()) throw Error(path, "no candidates");
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

enum class CandidateSpace { None, Auto };

// How a candidate's text joins the prompt. The reference package's
// fine-tuning tokenizes the response on its own and appends its ids to the
// prompt's (no space at the boundary), which `none` reproduces; `auto` puts
// one space before it unless either side already has whitespace there, as
// the text "prompt candidate" would be written.
std::string candidate_text(const std::string& candidate, const std::optional<std::string>& prompt_text,
                           CandidateSpace mode) {
  if (mode == CandidateSpace::Auto && !is_space(candidate.front()) &&
      !(prompt_text && !prompt_text->empty() && is_space(prompt_text->back())))
    return " " + candidate;
  return candidate;
}

std::string per_prompt(std::size_t i) { return "prompt " + std::to_string(i + 1); }

}  // namespace

void add_score_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    PromptArgs prompts;
    std::string candidates_file, output, candidate_space = "none";
    std::vector<std::string> candidates;
    bool append_eos = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("score", model_command_description("score"));
  cmd->footer(
      "Candidates come from --candidates FILE (one per line), --candidate TEXT (repeatable), or a \"candidates\"\n"
      "list in a prompt's JSONL line (texts, or lists of token ids), which replaces the command-line ones for\n"
      "that prompt. A candidate's text is tokenized on its own, without special tokens, and its ids follow the\n"
      "prompt's: with --candidate-space none (default) exactly as written, as the reference package's\n"
      "fine-tuning joins prompt and response; with auto, after one space unless the candidate starts or the\n"
      "prompt ends with whitespace. Output: one JSON line per prompt (docs/formats/score-jsonl.md).");
  add_model_options(cmd, args->model);
  add_prompt_options(cmd, args->prompts);
  cmd->add_option("--candidates", args->candidates_file, "Candidates, one text per line (blank lines skipped)");
  cmd->add_option("--candidate", args->candidates, "A candidate text (repeatable)")->allow_extra_args(false);
  cmd->add_option("--candidate-space", args->candidate_space,
                  "How candidate text joins the prompt: none (as written) or auto (a space between words)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "auto"}));
  cmd->add_flag("--append-eos", args->append_eos,
                "Score each candidate followed by the end-of-sequence token (as trained: response + EOS)");
  cmd->add_option("-o,--output", args->output, "JSONL to write (default: stdout)");

  set.add(cmd, [args, &g = set.global] {
    const Args& a = *args;
    if (!a.candidates_file.empty() && !a.candidates.empty()) throw UsageError("give --candidates or --candidate, not both");
    for (const auto& c : a.candidates)
      if (c.empty()) throw UsageError("--candidate: a candidate must not be empty");
    const CandidateSpace space = a.candidate_space == "auto" ? CandidateSpace::Auto : CandidateSpace::None;

    // Everything that can be checked without the model is, before loading it.
    std::vector<PromptInput> prompts = read_prompts(a.prompts);
    std::vector<Candidate> common;
    if (!a.candidates_file.empty()) common = read_candidate_file(a.candidates_file);
    for (const auto& c : a.candidates) common.push_back(text_candidate(c));
    const std::string source = a.prompts.prompts_file.empty() ? "--prompt" : a.prompts.prompts_file;
    std::vector<std::vector<Candidate>> candidates(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      const auto& src = prompts[i].source;
      if (src.is_object() && src.contains("candidates")) {
        const std::string where = source + ": " + per_prompt(i);
        if (!src["candidates"].is_array() || src["candidates"].empty())
          throw Error(where, "\"candidates\" must be a non-empty list");
        for (std::size_t j = 0; j < src["candidates"].size(); ++j)
          candidates[i].push_back(candidate_from_json(src["candidates"][j], where + " candidate " + std::to_string(j + 1)));
      } else if (!common.empty()) {
        candidates[i] = common;
      } else {
        throw Error(per_prompt(i),
                    "no candidates (give --candidates FILE, --candidate TEXT or a \"candidates\" list in its JSONL line)");
      }
    }
    ResultLines out(a.output);

    ModelSession session = open_model_session(a.model, g);
    const auto& config = session.model->config();
    std::vector<std::vector<std::int64_t>> prompt_ids = prompt_token_ids(prompts, session);
    std::optional<std::int64_t> eos;
    if (a.append_eos) {
      if (session.tokenizer && session.tokenizer->special_ids().eos) eos = *session.tokenizer->special_ids().eos;
      else if (!config.eos_token_ids.empty()) eos = config.eos_token_ids.front();
      else throw Error(a.model.model, "--append-eos: the model declares no end-of-sequence token");
    }
    // Candidate texts repeat across prompts: each distinct text is encoded once.
    std::map<std::string, std::vector<std::int64_t>> encoded;
    std::vector<std::vector<std::vector<std::int64_t>>> candidate_ids(prompts.size());
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      for (std::size_t j = 0; j < candidates[i].size(); ++j) {
        const Candidate& c = candidates[i][j];
        const std::string name = per_prompt(i) + " candidate " + std::to_string(j + 1);
        std::vector<std::int64_t> ids = c.ids;
        if (c.text) {
          if (!session.tokenizer)
            throw Error(name, "the model folder has no tokenizer (tokenizer.json or tokenizer.model): give candidates "
                              "as token ids (\"candidates\": [[5, 17], [42]] in the JSONL)");
          const std::string text = candidate_text(*c.text, prompts[i].text, space);
          auto it = encoded.find(text);
          if (it == encoded.end()) {
            std::vector<TokenId> e;
            try {
              e = session.tokenizer->encode(text, false);
            } catch (const Error& err) {
              throw Error(name, err.what());  // e.g. invalid UTF-8: say which candidate
            }
            it = encoded.emplace(text, std::vector<std::int64_t>(e.begin(), e.end())).first;
          }
          ids = it->second;
        }
        if (eos) ids.push_back(*eos);
        // The last token is only predicted, never run.
        session.model->check_input(ids, std::int64_t(prompt_ids[i].size()) - 1, name);
        candidate_ids[i].push_back(std::move(ids));
      }
    }

    ContinuationScorer scorer(*session.model);
    Progress progress("score", prompts.size(), "prompts");
    auto scores = scorer.score(prompt_ids, candidate_ids, a.model.batch_size, &progress);
    progress.finish();

    const std::vector<std::string> reserved = {"scores", "best", "best_mean", "candidates"};
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      nlohmann::ordered_json line = result_head(i, prompts[i], reserved);
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      std::size_t best = 0, best_mean = 0;
      for (std::size_t j = 0; j < scores[i].size(); ++j) {
        const auto& s = scores[i][j];
        const double mean = s.log_likelihood / double(s.tokens);
        list.push_back({{"candidate", candidates[i][j].given},
                        {"log_likelihood", s.log_likelihood},
                        {"tokens", s.tokens},
                        {"mean_log_likelihood", mean}});
        if (s.log_likelihood > scores[i][best].log_likelihood) best = j;
        if (mean > scores[i][best_mean].log_likelihood / double(scores[i][best_mean].tokens)) best_mean = j;
      }
      line["scores"] = std::move(list);
      line["best"] = candidates[i][best].given;
      line["best_mean"] = candidates[i][best_mean].given;
      out.add(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    const auto& st = scorer.stats();
    const auto& model = *session.model;
    out.finish(g, {{"prompts", st.prompts},
                   {"candidates", st.continuations},
                   {"prompt_tokens", st.prompt_tokens},
                   {"padded_prompt_tokens", st.prompt_slots},
                   {"candidate_tokens", st.continuation_tokens},
                   {"padded_candidate_tokens", st.padded_tokens},
                   {"dtype", dtype_name(model.options().dtype)},
                   {"device", model.options().device.str()},
                   {"load_seconds", session.load_seconds},
                   {"seconds", st.seconds},
                   {"peak_rss_bytes", peak_resident_bytes()}});
  });
}

}  // namespace c2s
