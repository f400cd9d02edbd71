// A few seconds (C2S_FUZZ_SECONDS, default 4) of seeded mutation fuzzing of
// the tokenizer.json engine through the shared body in hf_tokenizer_fuzz.hpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "text/hf_tokenizer_fuzz.hpp"
#include "fuzz_loop.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using Bytes = testing_support::FuzzBytes;

Bytes raw_mode_input(const std::string& json_text, const std::string& text) {
  Bytes b;
  b.reserve(3 + json_text.size() + text.size());
  b.push_back(0);
  b.push_back(static_cast<std::uint8_t>(json_text.size() & 0xFF));
  b.push_back(static_cast<std::uint8_t>(json_text.size() >> 8));
  for (char c : json_text) b.push_back(static_cast<std::uint8_t>(c));
  for (char c : text) b.push_back(static_cast<std::uint8_t>(c));
  return b;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The GPT-NeoX tokenizer.json with its first 300 merges and the vocabulary
// they need, small enough for the raw-mode length field.
std::string neox_fragment() {
  auto j = nlohmann::json::parse(read_file(C2S_SHARED_DIR "/golden/tokenizers/gpt-neox/tokenizer.json"));
  nlohmann::json vocab = nlohmann::json::object();
  const auto& full = j["model"]["vocab"];
  for (auto it = full.begin(); it != full.end(); ++it)
    if (utf8::count_code_points(it.key()) == 1 || it.value().get<int>() < 2) vocab[it.key()] = it.value();
  nlohmann::json merges = nlohmann::json::array();
  for (std::size_t i = 0; i < 300; ++i) {
    const std::string m = j["model"]["merges"][i];
    merges.push_back(m);
    const std::string merged = m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1);
    vocab[merged] = full[merged];
  }
  j["model"]["vocab"] = vocab;
  j["model"]["merges"] = merges;
  return j.dump();
}

nlohmann::json random_json_value(std::mt19937_64& rng) {
  static const char* const kStrings[] = {"", "Foo", "BPE", "Unigram", "WordLevel", "Sequence", "Isolated", "▁",
                                         "(", "\\s+", "<s>", "A", "B", "always", "first", "never", "1.0"};
  switch (rng() % 8) {
    case 0: return nullptr;
    case 1: return static_cast<bool>(rng() & 1);
    case 2: return static_cast<std::int64_t>(rng() % 2000) - 100;
    case 3: return static_cast<double>(rng() % 1000) / 7.0 - 50.0;
    case 4: return nlohmann::json::array();
    case 5: return nlohmann::json::object();
    case 6: return nlohmann::json::array({static_cast<int>(rng() % 50), "a"});
    default: return kStrings[rng() % (sizeof(kStrings) / sizeof(kStrings[0]))];
  }
}

// Replaces, removes or copies one node of the tree, picked by a random walk.
void mutate_json(nlohmann::json& j, std::mt19937_64& rng) {
  nlohmann::json* node = &j;
  for (int depth = 0; depth < 6 && (node->is_object() || node->is_array()) && !node->empty(); ++depth) {
    if (depth > 0 && rng() % 3 == 0) break;
    auto it = node->begin();
    std::advance(it, static_cast<long>(rng() % node->size()));
    if (rng() % 4 == 0 && depth > 0) {
      if (node->is_object())
        node->erase(it.key());
      else
        node->erase(static_cast<std::size_t>(std::distance(node->begin(), it)));
      return;
    }
    node = &*it;
  }
  if (node->is_array() && !node->empty() && rng() % 2)
    node->push_back((*node)[rng() % node->size()]);
  else
    *node = random_json_value(rng);
}

Bytes mutate(const Bytes& input, const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  Bytes b = input;
  // JSON-aware mutation of raw-mode inputs keeps the file parseable.
  if (b.size() > 3 && b[0] % 4 == 0 && rng() % 2) {
    const std::size_t len = std::min<std::size_t>(b[1] | (b[2] << 8), b.size() - 3);
    try {
      auto j = nlohmann::json::parse(b.begin() + 3, b.begin() + 3 + static_cast<long>(len));
      for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) mutate_json(j, rng);
      const std::string text(b.begin() + 3 + static_cast<long>(len), b.end());
      const std::string dumped = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (dumped.size() < 65536) return raw_mode_input(dumped, text);
    } catch (const nlohmann::json::exception&) {
    }
  }
  for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) {
    switch (rng() % 5) {
      case 0:
        if (!b.empty()) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        break;
      case 2: {
        const std::size_t at = b.empty() ? 0 : rng() % b.size();
        const std::size_t n_bytes = 1 + rng() % 8;
        for (std::size_t k = 0; k < n_bytes; ++k) b.insert(b.begin() + static_cast<long>(at), static_cast<std::uint8_t>(rng()));
        break;
      }
      case 3:
        if (b.size() > 2) {
          const std::size_t at = rng() % b.size();
          b.erase(b.begin() + static_cast<long>(at), b.begin() + static_cast<long>(std::min(b.size(), at + 1 + rng() % 16)));
        }
        break;
      default: {
        const Bytes& other = corpus[rng() % corpus.size()];
        if (!other.empty() && !b.empty()) {
          const std::size_t cut = rng() % b.size(), from = rng() % other.size();
          b.resize(cut);
          b.insert(b.end(), other.begin() + static_cast<long>(from), other.end());
        }
      }
    }
  }
  return b;
}


// Seeds: the fixtures and a cut-down GPT-NeoX tokenizer.json as raw JSON
// (mutated as bytes and as JSON trees), and random component choices. Inputs
// come from a fixed seed, and a failing one is saved to a file.
TEST(HfTokenizerFuzz, SeededMutationsOnlyEverRaiseErrors) {
  std::vector<Bytes> corpus;
  const std::string sample = "Cell sentence: MALAT1 <s> é 😀  \t<unk>▁Ġ12 it's";
  for (const char* f : {"llama_bpe_byte_fallback", "llama_metaspace_first", "t5_unigram", "gemma_unigram_byte_fallback",
                        "word_level_whitespace", "word_level_punct_digits", "word_level_split",
                        "word_level_split_invert", "bpe_subword_prefix", "byte_level_added_tokens",
                        "byte_level_split_ignore_merges"}) {
    const std::string json_text = read_file(C2S_SOURCE_DIR "/tests/text/fixtures/" + std::string(f) + ".json");
    ASSERT_LT(json_text.size(), 65536u) << f;
    corpus.push_back(raw_mode_input(json_text, sample));
  }
  const std::string fragment = neox_fragment();
  ASSERT_LT(fragment.size(), 65536u);
  corpus.push_back(raw_mode_input(fragment, sample));
  std::mt19937_64 rng(20241121);
  for (int i = 0; i < 48; ++i) {
    Bytes b(64 + rng() % 256);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    b[0] = static_cast<std::uint8_t>(1 + rng() % 3);
    corpus.push_back(b);
  }

  testing_support::FuzzLoop loop;
  loop.default_seconds = 4.0;
  loop.name = "hf_fuzz";
  loop.next = [&](std::size_t run) { return run < corpus.size() ? corpus[run] : mutate(corpus[rng() % corpus.size()], corpus, rng); };
  loop.run = [](const Bytes& input) { fuzzing::fuzz_hf_tokenizer(input.data(), input.size()); };
  std::size_t run_index = 0;
  loop.keep = [&](Bytes&& input) {
    // Keep some mutants so that mutations stack up.
    if (run_index++ >= corpus.size() && rng() % 8 == 0 && corpus.size() < 400) corpus.push_back(std::move(input));
  };
  double budget = 0;
  const std::size_t runs = loop(budget);
  std::cout << "[ fuzz     ] " << runs << " inputs in " << budget << " s: " << fuzzing::fuzz_stats().tokenizers
            << " tokenizers built, " << fuzzing::fuzz_stats().encodes << " texts encoded\n";
  EXPECT_GT(runs, corpus.size() > 60 ? 60u : 0u);
}

}  // namespace
}  // namespace c2s
