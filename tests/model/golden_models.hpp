// The golden model folders of ../shared/golden/models (random weights with
// outputs from an independent float64 reference) and small helpers to run a
// model on plain token-id lists in tests.
#pragma once
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/json_file.hpp"
#include "model/causal_lm.hpp"

namespace c2s::testing_support {

inline std::filesystem::path golden_model_dir(const std::string& name) {
  return std::filesystem::path(C2S_SHARED_DIR) / "golden" / "models" / name;
}

// Every folder of ../shared/golden/models with weights and golden outputs, sorted.
inline const std::vector<std::string>& golden_model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(golden_model_dir(""), ec))
      if (std::filesystem::exists(e.path() / "model.safetensors") && std::filesystem::exists(e.path() / "golden.json"))
        found.push_back(e.path().filename().string());
    std::sort(found.begin(), found.end());
    return found;
  }();
  return names;
}

// A gtest parameter name for a folder name (gtest allows no '-').
inline std::string golden_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

inline nlohmann::json golden_outputs(const std::string& name) {
  return read_json_file(golden_model_dir(name) / "golden.json");
}

inline at::Tensor ids_tensor(const std::vector<std::int64_t>& ids) {
  return at::tensor(ids, at::kLong).view({1, std::int64_t(ids.size())});
}

// One unpadded sequence at positions 0..T-1, no cache: hidden states [T, H].
inline at::Tensor run_hidden(const CausalLM& model, const std::vector<std::int64_t>& ids) {
  c10::NoGradGuard no_grad;
  const auto T = std::int64_t(ids.size());
  ForwardInput in{ids_tensor(ids), at::arange(T, at::kLong).view({1, T}), at::ones({1, T}, at::kBool)};
  return model.forward(in, nullptr)[0];
}

// Greedy continuation re-running the whole sequence at every step (no cache).
inline std::vector<std::int64_t> greedy_recompute(const CausalLM& model, std::vector<std::int64_t> ids, int n) {
  std::vector<std::int64_t> out;
  for (int i = 0; i < n; ++i) {
    auto logits = model.logits(run_hidden(model, ids)[-1]);
    out.push_back(logits.argmax().item<std::int64_t>());
    ids.push_back(out.back());
  }
  return out;
}

inline std::vector<float> to_vector(const at::Tensor& t) {
  auto c = t.to(at::kFloat).contiguous().cpu();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace c2s::testing_support
