// c2s's side of bench/tokenize_vs_hf.py: encodes every text of a JSONL file
// (one JSON string per line) with a tokenizer, REPS + 1 times (the first is
// the warm-up), on one thread (encode, text by text) and on the pool
// (encode_batch); prints the seconds of each pass, the token count and a
// checksum of the ids as one JSON object.
// Usage: tokenizer_throughput TOKENIZER TEXTS_JSONL REPS THREADS
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "text/tokenizer.hpp"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s TOKENIZER TEXTS_JSONL REPS THREADS\n", argv[0]);
    return 2;
  }
  try {
    auto tokenizer = c2s::load_tokenizer(argv[1]);
    std::vector<std::string> texts;
    std::ifstream in(argv[2]);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) texts.push_back(nlohmann::json::parse(line).get<std::string>());
    const int reps = std::stoi(argv[3]);
    c2s::ThreadPool::set_default_threads(std::stoi(argv[4]));

    nlohmann::json out = {{"texts", texts.size()}};
    std::vector<double> single, pooled;
    std::size_t tokens = 0;
    std::uint64_t checksum = 0;
    for (int r = 0; r <= reps; ++r) {
      auto t0 = Clock::now();
      std::size_t n = 0;
      for (const auto& t : texts) {
        auto ids = tokenizer->encode(t, false);
        n += ids.size();
        if (r == 0)
          for (auto id : ids) checksum = (checksum * 31 + std::uint64_t(id)) % 1000000007;
      }
      single.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      tokens = n;
    }
    for (int r = 0; r <= reps; ++r) {
      auto t0 = Clock::now();
      auto batch = tokenizer->encode_batch(texts, false);
      pooled.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    out["tokens"] = tokens;
    out["checksum"] = checksum;
    out["single_thread_seconds"] = single;
    out["pool_seconds"] = pooled;
    out["pool_threads"] = c2s::ThreadPool::global().size();
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_throughput: %s\n", e.what());
    return 1;
  }
}
