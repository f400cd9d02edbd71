// Checkpoint: the golden model folders read as an independent Python reader
// reads them, zero-copy tensors, dtype conversions, sharded folders.
#include "model/checkpoint.hpp"

#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "model/python_safetensors.hpp"
#include "model/safetensors_file.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;
using testing_support::expect_error;
using testing_support::ScratchDir;

const fs::path kModels = fs::path(C2S_SHARED_DIR) / "golden" / "models";

std::vector<fs::path> golden_folders() {
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(kModels))
    if (fs::exists(e.path() / "model.safetensors")) folders.push_back(e.path());
  std::sort(folders.begin(), folders.end());
  return folders;
}

// The address ranges at which this process maps `file` (from /proc/self/maps).
std::vector<std::pair<std::uintptr_t, std::uintptr_t>> mapped_ranges(const fs::path& file) {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  const std::string target = fs::canonical(file).string();
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos || line.substr(slash) != target) continue;
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream(line) >> std::hex >> begin >> dash >> end;
    ranges.emplace_back(begin, end);
  }
  return ranges;
}

bool points_into(const at::Tensor& t, const fs::path& file) {
  const auto p = reinterpret_cast<std::uintptr_t>(t.data_ptr());
  for (const auto& [b, e] : mapped_ranges(file))
    if (p >= b && p + t.nbytes() <= e) return true;
  return false;
}

TEST(GoldenCheckpoints, MatchAnIndependentPythonReader) {
  ScratchDir dir;
  const auto folders = golden_folders();
  ASSERT_EQ(folders.size(), 6u);
  for (const auto& folder : folders) {
    SCOPED_TRACE(folder.string());
    const fs::path json_out = dir.path() / (folder.filename().string() + ".json");
    ASSERT_EQ(testing_support::python_read_safetensors(folder / "model.safetensors", json_out), 0);
    const auto expected = nlohmann::json::parse(testing_support::slurp(json_out));

    const auto file = SafetensorsFile::open(folder / "model.safetensors");
    EXPECT_EQ(file->data_offset(), 8 + expected["__header_bytes__"].get<std::uint64_t>());
    EXPECT_EQ(nlohmann::json(file->metadata()), expected["__metadata__"]);
    EXPECT_EQ(file->tensors().size() + 2, expected.size());
    const auto checkpoint = Checkpoint::open(folder);
    std::vector<std::string> names;
    std::uint64_t data_bytes = 0;
    for (const auto& t : file->tensors()) {
      SCOPED_TRACE(t.name);
      ASSERT_TRUE(expected.contains(t.name));
      const auto& e = expected[t.name];
      EXPECT_EQ(storage_dtype_name(t.dtype), e["dtype"].get<std::string>());
      EXPECT_EQ(t.shape, e["shape"].get<std::vector<std::int64_t>>());
      EXPECT_EQ(t.begin, e["offsets"][0].get<std::uint64_t>());
      EXPECT_EQ(t.end, e["offsets"][1].get<std::uint64_t>());
      EXPECT_EQ(testing_support::weighted_byte_sum(file->bytes(t)), e["byte_sum"].get<std::uint64_t>());
      names.push_back(t.name);
      data_bytes += t.bytes();

      EXPECT_EQ(checkpoint.shape(t.name), t.shape);
      const at::Tensor values = checkpoint.tensor(t.name, at::kDouble);
      EXPECT_EQ(values.sizes().vec(), t.shape);
      const double sum = values.sum().item<double>();
      EXPECT_NEAR(sum, e["value_sum"].get<double>(), 1e-9 * (1 + std::fabs(sum)));
      const auto flat = values.reshape({-1});
      const auto& first = e["first"];
      ASSERT_EQ(static_cast<std::int64_t>(first.size()), std::min<std::int64_t>(4, flat.numel()));
      for (std::size_t i = 0; i < first.size(); ++i)
        EXPECT_EQ(flat[static_cast<std::int64_t>(i)].item<double>(), first[i].get<double>());
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(checkpoint.names(), names);
    EXPECT_EQ(checkpoint.data_bytes(), data_bytes);
  }
}

TEST(GoldenCheckpoints, StoredDtypesBuffersAndZeroDimTensors) {
  const auto neox = Checkpoint::open(kModels / "neox-tiny-bf16");
  EXPECT_EQ(neox.stored_dtype("embed_out.weight"), at::kBFloat16);
  EXPECT_EQ(neox.shape("embed_out.weight"), (std::vector<std::int64_t>{50304, 64}));
  // The Pythia buffers: a U8 causal mask and a 0-dim masked_bias.
  EXPECT_EQ(neox.stored_dtype("gpt_neox.layers.0.attention.bias"), at::kByte);
  const at::Tensor mask = neox.tensor("gpt_neox.layers.0.attention.bias", at::kByte);
  EXPECT_EQ(mask.sizes().vec(), (std::vector<std::int64_t>{1, 1, 256, 256}));
  EXPECT_EQ(mask.sum().item<std::int64_t>(), 256 * 257 / 2);  // lower triangle
  const at::Tensor masked_bias = neox.tensor("gpt_neox.layers.0.attention.masked_bias", at::kFloat);
  EXPECT_EQ(masked_bias.dim(), 0);
  EXPECT_TRUE(neox.contains("gpt_neox.layers.0.attention.masked_bias"));
  EXPECT_FALSE(neox.contains("lm_head.weight"));
  EXPECT_EQ(Checkpoint::open(kModels / "neox-tiny-seq-f16").stored_dtype("embed_out.weight"), at::kHalf);
  EXPECT_EQ(Checkpoint::open(kModels / "gpt2-tiny").tensor("h.0.attn.masked_bias", at::kFloat).dim(), 0);
}

TEST(GoldenCheckpoints, StoredDtypeTensorsPointIntoTheMappedFile) {
  const fs::path folder = kModels / "neox-tiny-bf16";
  at::Tensor weight, mask, converted;
  {
    const auto checkpoint = Checkpoint::open(folder);
    weight = checkpoint.tensor("gpt_neox.embed_in.weight", at::kBFloat16);
    mask = checkpoint.tensor("gpt_neox.layers.1.attention.bias", at::kByte);
    converted = checkpoint.tensor("gpt_neox.embed_in.weight", at::kFloat);
  }
  // The checkpoint is gone; the tensors keep the mapping alive.
  EXPECT_TRUE(points_into(weight, folder / "model.safetensors"));
  EXPECT_TRUE(points_into(mask, folder / "model.safetensors"));
  EXPECT_FALSE(points_into(converted, folder / "model.safetensors"));
  EXPECT_TRUE(at::equal(weight.to(at::kFloat), converted));
  weight = at::Tensor();
  mask = at::Tensor();
  EXPECT_TRUE(mapped_ranges(folder / "model.safetensors").empty()) << "the mapping outlives its tensors";
}

TEST(GoldenCheckpoints, ReducedPrecisionCopiesAreTheFloat32WeightsRounded) {
  const auto f32 = Checkpoint::open(kModels / "neox-tiny");
  const auto bf16 = Checkpoint::open(kModels / "neox-tiny-bf16");
  for (const auto& name : f32.names()) {
    if (f32.stored_dtype(name) != at::kFloat) continue;
    SCOPED_TRACE(name);
    EXPECT_TRUE(at::equal(f32.tensor(name, at::kBFloat16), bf16.tensor(name, at::kBFloat16)));
  }
  const auto seq = Checkpoint::open(kModels / "neox-tiny-seq");
  const auto f16 = Checkpoint::open(kModels / "neox-tiny-seq-f16");
  for (const auto& name : seq.names()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(at::equal(seq.tensor(name, at::kHalf), f16.tensor(name, at::kHalf)));
    EXPECT_TRUE(at::equal(seq.tensor(name, at::kHalf).to(at::kFloat), f16.tensor(name, at::kFloat)));
  }
}

TEST(CheckpointErrors, NameTheFolderAndTheTensor) {
  ScratchDir dir;
  expect_error([&] { Checkpoint::open(dir.path()); },
               "no model.safetensors or model.safetensors.index.json in " + dir.path().string());
  expect_error([&] { Checkpoint::open(dir.path() / "absent"); }, "absent: no such folder");
  const auto checkpoint = Checkpoint::open(kModels / "gpt2-tiny");
  expect_error([&] { checkpoint.tensor("h.9.mlp.c_fc.weight", at::kFloat); },
               (kModels / "gpt2-tiny").string() + ": no tensor \"h.9.mlp.c_fc.weight\"");
  expect_error([&] { checkpoint.shape("nope"); }, "no tensor \"nope\"");
  std::ofstream(dir.file("model.safetensors")) << "not a safetensors file at all";
  expect_error([&] { Checkpoint::open(dir.path()); }, dir.file("model.safetensors") + ": header length");
}

}  // namespace
}  // namespace c2s
