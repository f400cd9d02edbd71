// A few seconds (C2S_FUZZ_SECONDS, default 3) of seeded mutation fuzzing of
// the safetensors parser through the shared body in safetensors_fuzz.hpp:
// bytes mutated anywhere (mostly in the header), and headers mutated as JSON
// trees with the length field kept right, so that the checks behind the
// JSON parser are reached.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/safetensors_fuzz.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes to_bytes(const std::vector<std::byte>& b) {
  Bytes out(b.size());
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

// A file from header text (length field `length`, or the text's own) and data.
Bytes assemble(const std::string& header, const Bytes& data, std::optional<std::uint64_t> length = {}) {
  Bytes b(8 + header.size() + data.size());
  const std::uint64_t n = length.value_or(header.size());
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(b.data() + 8 + header.size(), data.data(), data.size());
  return b;
}

std::vector<Bytes> seeds() {
  std::vector<Bytes> corpus;
  std::vector<std::byte> pool(256);
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<std::byte>(i * 37);
  const auto take = [&](std::size_t n) { return std::span<const std::byte>(pool.data(), n); };
  {
    SafetensorsWriter w;
    w.set_metadata({{"format", "pt"}});
    w.add("model.embed.weight", StorageDtype::F32, {2, 3}, take(24));
    w.add("model.norm.bias", StorageDtype::BF16, {}, take(2));
    w.add("attention.bias", StorageDtype::U8, {1, 1, 2, 2}, take(4));
    w.add("empty", StorageDtype::F16, {0, 5}, take(0));
    w.add("ids", StorageDtype::I64, {2}, take(16));
    corpus.push_back(to_bytes(w.image()));
  }
  {
    SafetensorsWriter w;
    const char* names[] = {"BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
    for (const char* n : names) {
      const StorageDtype d = parse_storage_dtype(n);
      w.add(std::string("t_") + n, d, {3}, take(3 * element_size(d)));
    }
    corpus.push_back(to_bytes(w.image()));
  }
  corpus.push_back(to_bytes(SafetensorsWriter().image()));
  // Holes, trailing bytes, pretty-printed JSON, no padding.
  corpus.push_back(assemble("{\n  \"a\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [2, 4]},\n"
                            "  \"b\": {\"dtype\": \"I16\", \"shape\": [1], \"data_offsets\": [8, 10]}\n}",
                            Bytes(16, 1)));
  // A real model's header and data.
  const std::string gpt2 =
      testing_support::slurp(std::string(C2S_SHARED_DIR) + "/golden/models/gpt2-tiny/model.safetensors");
  corpus.emplace_back(gpt2.begin(), gpt2.end());
  return corpus;
}

nlohmann::ordered_json random_value(std::mt19937_64& rng) {
  static const char* const kStrings[] = {"F32", "BF16", "F16", "U8", "BOOL", "I64", "U64", "F64", "F8_E4M3", "",
                                         "__metadata__", "pt", "dtype", "shape", "data_offsets"};
  static const std::uint64_t kNumbers[] = {0, 1, 2, 3, 4, 7, 8, 16, 255, 65535, 1ull << 31, 1ull << 32, 1ull << 53,
                                           (1ull << 63) - 1, 1ull << 63, ~0ull, ~0ull - 7};
  switch (rng() % 10) {
    case 0: return nullptr;
    case 1: return static_cast<bool>(rng() & 1);
    case 2: return -static_cast<std::int64_t>(rng() % 10);
    case 3: return static_cast<double>(rng() % 100) / 4.0;
    case 4: return nlohmann::ordered_json::array();
    case 5: return nlohmann::ordered_json::object();
    case 6: {
      auto a = nlohmann::ordered_json::array();
      for (std::size_t n = rng() % 4; n > 0; --n) a.push_back(kNumbers[rng() % std::size(kNumbers)]);
      return a;
    }
    case 7: return {{"dtype", kStrings[rng() % 8]}, {"shape", nlohmann::ordered_json::array()}, {"data_offsets", {0, 4}}};
    case 8: return kNumbers[rng() % std::size(kNumbers)];
    default: return kStrings[rng() % std::size(kStrings)];
  }
}

// Replaces, removes, nudges or copies one node of the header, picked by a
// random walk from the top.
void mutate_json(nlohmann::ordered_json& j, std::mt19937_64& rng) {
  nlohmann::ordered_json* node = &j;
  for (int depth = 0; depth < 4 && (node->is_object() || node->is_array()) && !node->empty(); ++depth) {
    if (depth > 0 && rng() % 3 == 0) break;
    auto it = node->begin();
    std::advance(it, static_cast<long>(rng() % node->size()));
    if (rng() % 6 == 0 && depth > 0) {
      if (node->is_object())
        node->erase(it.key());
      else
        node->erase(static_cast<std::size_t>(std::distance(node->begin(), it)));
      return;
    }
    if (depth == 0 && node->is_object() && rng() % 8 == 0) {
      // A copy under another name (copied first: inserting moves the entries).
      auto copy = it.value();
      (*node)[it.key() + "x"] = std::move(copy);
      return;
    }
    node = &*it;
  }
  if (node->is_number_unsigned() && rng() % 2) {
    const auto v = node->get<std::uint64_t>();
    *node = v + (rng() % 17) - 8;  // off by a little, wrapping around 0 at times
  } else {
    *node = random_value(rng);
  }
}

Bytes mutate(const Bytes& input, const std::vector<Bytes>& corpus, std::mt19937_64& rng) {
  Bytes b = input;
  std::uint64_t n = 0;
  if (b.size() >= 8) std::memcpy(&n, b.data(), 8);
  const bool header_fits = b.size() >= 8 && n <= b.size() - 8;
  if (header_fits && rng() % 2) {
    try {
      auto j = nlohmann::ordered_json::parse(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
      for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) mutate_json(j, rng);
      std::string text = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      if (rng() % 2) text.append((8 - text.size() % 8) % 8, ' ');
      // A repeated name, which a JSON tree cannot hold.
      if (rng() % 10 == 0 && j.is_object() && !j.empty())
        text.insert(1, nlohmann::json(j.begin().key()).dump() + ":" + j.begin().value().dump() + ",");
      Bytes data(b.begin() + 8 + static_cast<long>(n), b.end());
      if (rng() % 8 == 0 && !data.empty()) data.resize(rng() % data.size());
      std::optional<std::uint64_t> length;
      if (rng() % 10 == 0) length = text.size() + (rng() % 5) - 2;
      return assemble(text, data, length);
    } catch (const nlohmann::json::exception&) {
    }
  }
  for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) {
    // Mostly within the header, where the parser looks.
    const std::size_t span = std::max<std::size_t>(1, header_fits && rng() % 4 ? 8 + n : b.size());
    switch (rng() % 6) {
      case 0:
        if (!b.empty()) b[rng() % std::min(span, b.size())] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[rng() % std::min(span, b.size())] = static_cast<std::uint8_t>(rng());
        break;
      case 2: {
        const std::size_t at = b.empty() ? 0 : rng() % std::min(span, b.size());
        const std::size_t count = 1 + rng() % 8;
        for (std::size_t i = 0; i < count; ++i) b.insert(b.begin() + static_cast<long>(at), static_cast<std::uint8_t>(rng()));
        break;
      }
      case 3:
        if (b.size() > 2) {
          const std::size_t at = rng() % std::min(span, b.size());
          b.erase(b.begin() + static_cast<long>(at), b.begin() + static_cast<long>(std::min(b.size(), at + 1 + rng() % 16)));
        }
        break;
      case 4:
        if (b.size() >= 8) {  // the length field
          const std::uint64_t v = rng() % 3 == 0 ? rng() : n + (rng() % 33) - 16;
          std::memcpy(b.data(), &v, 8);
        }
        break;
      default: {
        const Bytes& other = corpus[rng() % corpus.size()];
        if (!other.empty() && !b.empty()) {
          const std::size_t cut = rng() % b.size(), from = rng() % other.size();
          b.resize(cut);
          b.insert(b.end(), other.begin() + static_cast<long>(from),
                   other.begin() + static_cast<long>(std::min(other.size(), from + 4096)));
        }
      }
    }
  }
  return b;
}

std::string save_input(const Bytes& b, const std::string& name) {
  const auto path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
  return path.string();
}

TEST(SafetensorsFuzz, SeededMutationsOnlyEverRaiseErrors) {
  std::vector<Bytes> corpus = seeds();
  for (const auto& s : corpus) ASSERT_NO_THROW(fuzzing::fuzz_safetensors(s.data(), s.size()));
  ASSERT_EQ(fuzzing::safetensors_fuzz_stats().accepted, corpus.size()) << "every seed is a valid file";
  const std::size_t seed_count = corpus.size();
  std::mt19937_64 rng(20241121);

  const char* env = std::getenv("C2S_FUZZ_SECONDS");
  const double budget = env ? std::atof(env) : 3.0;
  std::atomic<std::size_t> iteration{0};
  std::atomic<bool> done{false};
  Bytes current;
  std::mutex current_mutex;
  // A hang is a failure too: no progress for 20 s aborts with the input saved.
  std::thread watchdog([&] {
    std::size_t seen = 0;
    auto last_change = std::chrono::steady_clock::now();
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (iteration != seen) {
        seen = iteration;
        last_change = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last_change > std::chrono::seconds(20)) {
        std::lock_guard<std::mutex> lock(current_mutex);
        std::cerr << "fuzz input hangs; saved to " << save_input(current, "safetensors_fuzz_hang.bin") << "\n";
        std::abort();
      }
    }
  });

  const auto start = std::chrono::steady_clock::now();
  std::size_t runs = 0;
  for (; std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < budget; ++runs) {
    // The big golden seed is mutated less often: most of it is data.
    std::size_t pick = rng() % corpus.size();
    if (pick == seed_count - 1 && rng() % 8) pick = rng() % (seed_count - 1);
    Bytes input = mutate(corpus[pick], corpus, rng);
    {
      std::lock_guard<std::mutex> lock(current_mutex);
      current = input;
    }
    const std::size_t accepted = fuzzing::safetensors_fuzz_stats().accepted;
    try {
      fuzzing::fuzz_safetensors(input.data(), input.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << "run " << runs << ": " << e.what() << "; input saved to "
                    << save_input(input, "safetensors_fuzz_failure.bin");
      break;
    }
    // Keep valid mutants, and a few others, so that mutations stack up
    // without the corpus filling with files refused at the first check.
    const bool valid = fuzzing::safetensors_fuzz_stats().accepted > accepted;
    if ((valid || rng() % 32 == 0) && input.size() < 65536 && corpus.size() < 1000) corpus.push_back(std::move(input));
    ++iteration;
  }
  done = true;
  watchdog.join();
  const auto& stats = fuzzing::safetensors_fuzz_stats();
  std::cout << "[ fuzz     ] " << runs << " inputs in " << budget << " s: " << stats.accepted - seed_count
            << " accepted, " << stats.tensors << " tensors checked\n";
  EXPECT_GT(runs, 100u);
  EXPECT_GT(stats.accepted, seed_count) << "no mutant was ever valid: the mutations miss the checks behind the parser";
}

}  // namespace
}  // namespace c2s
