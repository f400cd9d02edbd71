// save_checkpoint: round trips of the golden models, shards and the index as
// transformers writes them, files of earlier saves, and exchange with Python
// both ways. Also the reading paths only odd files take (unaligned data,
// unsigned and bool storage).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>

#include "model/checkpoint.hpp"
#include "model/python_safetensors.hpp"
#include "model/safetensors_file.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;
using testing_support::expect_error;
using testing_support::ScratchDir;

const fs::path kModels = fs::path(C2S_SHARED_DIR) / "golden" / "models";

std::vector<std::pair<std::string, at::Tensor>> load_all(const Checkpoint& c) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& name : c.names()) tensors.emplace_back(name, c.tensor(name, c.stored_dtype(name)));
  return tensors;
}

// at::tensor has no bool overload in libtorch 1.13.
at::Tensor bools(std::initializer_list<int> values) { return at::tensor(values, at::kByte).to(at::kBool); }

std::set<std::string> files_in(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(folder)) names.insert(e.path().filename().string());
  return names;
}

std::string data_section(const fs::path& file) {
  const auto f = SafetensorsFile::open(file);
  return testing_support::slurp(file).substr(f->data_offset());
}

TEST(SaveCheckpoint, RoundTripsEveryGoldenModelAsThePythonLibraryWouldWriteIt) {
  ScratchDir dir;
  for (const auto& entry : fs::directory_iterator(kModels)) {
    if (!fs::exists(entry.path() / "model.safetensors")) continue;
    const std::string model = entry.path().filename().string();
    SCOPED_TRACE(model);
    const auto golden = Checkpoint::open(entry.path());
    const fs::path out = dir.path() / model;
    save_checkpoint(out, load_all(golden));
    EXPECT_EQ(files_in(out), (std::set<std::string>{"model.safetensors"}));

    const auto ours = Checkpoint::open(out);
    ASSERT_EQ(ours.names(), golden.names());
    EXPECT_EQ(ours.data_bytes(), golden.data_bytes());
    const auto a = SafetensorsFile::open(entry.path() / "model.safetensors");
    const auto b = SafetensorsFile::open(out / "model.safetensors");
    EXPECT_EQ(b->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
    std::set<std::string> dtypes;
    for (const auto& name : golden.names()) {
      const TensorInfo& x = *a->find(name);
      const TensorInfo& y = *b->find(name);
      EXPECT_EQ(x.dtype, y.dtype) << name;
      EXPECT_EQ(x.shape, y.shape) << name;
      const auto bx = a->bytes(x), by = b->bytes(y);
      EXPECT_TRUE(bx.size() == by.size() && std::memcmp(bx.data(), by.data(), bx.size()) == 0) << name;
      dtypes.insert(std::string(storage_dtype_name(x.dtype)));
    }
    // The golden files were written in name order; where that is also the
    // library's order (one dtype), the data sections are identical.
    if (dtypes.size() == 1) {
      EXPECT_EQ(data_section(out / "model.safetensors"), data_section(entry.path() / "model.safetensors"));
    }

    // The strict Python reader accepts the file and sees the same bytes.
    ASSERT_EQ(testing_support::python_read_safetensors(out / "model.safetensors", dir.path() / (model + ".json")), 0);
    const auto seen = nlohmann::json::parse(testing_support::slurp(dir.path() / (model + ".json")));
    for (const auto& t : a->tensors())
      EXPECT_EQ(seen[t.name]["byte_sum"].get<std::uint64_t>(), testing_support::weighted_byte_sum(a->bytes(t))) << t.name;
  }
}

TEST(SaveCheckpoint, ShardsAsHuggingFaceHubSplitsAStateDict) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"a", at::arange(100, at::kFloat)},              // 400 bytes
      {"b", at::arange(200, at::kShort)},              // 400
      {"c", at::arange(150, at::kDouble)},             // 1200: over the limit, a shard of its own
      {"d", at::arange(25, at::kInt).reshape({5, 5})},  // 100
  };
  save_checkpoint(dir.path(), tensors, 1000);
  EXPECT_EQ(files_in(dir.path()), (std::set<std::string>{"model-00001-of-00002.safetensors",
                                                          "model-00002-of-00002.safetensors",
                                                          "model.safetensors.index.json"}));
  const auto index = nlohmann::json::parse(testing_support::slurp(dir.path() / "model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"], 2100);
  EXPECT_EQ(index["weight_map"], (nlohmann::json{{"a", "model-00002-of-00002.safetensors"},
                                                  {"b", "model-00002-of-00002.safetensors"},
                                                  {"c", "model-00001-of-00002.safetensors"},
                                                  {"d", "model-00002-of-00002.safetensors"}}));
  // Byte for byte what transformers writes: json.dumps(index, indent=2, sort_keys=True) + "\n".
  const std::string check = "import json\np = " + nlohmann::json((dir.path() / "model.safetensors.index.json").string()).dump() +
                            "\ntext = open(p).read()\n"
                            "assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + '\\n', text\n";
  EXPECT_EQ(testing_support::run_python(check), 0);
  for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
    EXPECT_EQ(testing_support::python_read_safetensors(dir.path() / shard, dir.path() / "shard.json"), 0) << shard;

  const auto c = Checkpoint::open(dir.path());
  EXPECT_EQ(c.names(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(c.data_bytes(), 2100u);
  for (const auto& [name, t] : tensors) {
    EXPECT_EQ(c.stored_dtype(name), t.scalar_type()) << name;
    EXPECT_TRUE(at::equal(c.tensor(name, t.scalar_type()), t)) << name;
  }
  // A limit above the total: one file, no index.
  ScratchDir one("one");
  save_checkpoint(one.path(), tensors, 2100);
  EXPECT_EQ(files_in(one.path()), (std::set<std::string>{"model.safetensors"}));
}

TEST(SaveCheckpoint, RemovesTheFilesOfAnEarlierSaveOnly) {
  ScratchDir dir;
  std::ofstream(dir.file("config.json")) << "{}";
  std::ofstream(dir.file("model-extra.safetensors")) << "not ours";
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (int i = 0; i < 6; ++i) tensors.emplace_back(std::string("w").append(std::to_string(i)), at::full({10}, i, at::kFloat));
  save_checkpoint(dir.path(), tensors, 80);  // 3 shards of 2
  EXPECT_EQ(files_in(dir.path()).size(), 2u + 3 + 1);
  save_checkpoint(dir.path(), tensors);
  EXPECT_EQ(files_in(dir.path()), (std::set<std::string>{"config.json", "model-extra.safetensors", "model.safetensors"}));
  save_checkpoint(dir.path(), tensors, 120);  // 2 shards of 3
  EXPECT_EQ(files_in(dir.path()),
            (std::set<std::string>{"config.json", "model-extra.safetensors", "model-00001-of-00002.safetensors",
                                   "model-00002-of-00002.safetensors", "model.safetensors.index.json"}));
  const auto c = Checkpoint::open(dir.path());
  EXPECT_TRUE(at::equal(c.tensor("w5", at::kFloat), at::full({10}, 5, at::kFloat)));
}

TEST(SaveCheckpoint, WritesContiguousCopiesOfViews) {
  ScratchDir dir;
  const at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"transposed", base.t()},
      {"sliced", base.slice(1, 2, 5)},           // storage offset, strided rows
      {"expanded", at::arange(3, at::kLong).expand({2, 3})},  // stride 0
      {"scalar", at::scalar_tensor(2.5, at::kBFloat16)},
      {"empty", at::zeros({0, 7}, at::kHalf)},
      {"grad", at::ones({2}, at::kFloat).set_requires_grad(true)},
  };
  save_checkpoint(dir.path(), tensors);
  const auto c = Checkpoint::open(dir.path());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const at::Tensor back = c.tensor(name, t.scalar_type());
    EXPECT_EQ(back.sizes(), t.sizes());
    EXPECT_TRUE(at::equal(back, t.detach()));
  }
}

TEST(SaveCheckpoint, RefusesDuplicateNamesAndDtypesSafetensorsLacks) {
  ScratchDir dir;
  const at::Tensor w = at::zeros({2});
  expect_error([&] { save_checkpoint(dir.path(), {{"w", w}, {"w", w}}); },
               dir.path().string() + ": tensor \"w\": given twice");
  expect_error([&] { save_checkpoint(dir.path(), {{"z", at::zeros({2}, at::kComplexFloat)}}); },
               "tensor \"z\": has dtype ComplexFloat");
  expect_error([&] { save_checkpoint(dir.path(), {{"u", at::Tensor()}}); }, "tensor \"u\": is undefined");
  expect_error([&] { save_checkpoint(dir.path(), {{"__metadata__", w}}); }, "the name is reserved");
  EXPECT_EQ(dir.entries(), 0u);
}

TEST(CheckpointIndex, ErrorsNameTheShardAndTheTensor) {
  ScratchDir dir;
  save_checkpoint(dir.path(), {{"a", at::zeros({100})}, {"b", at::zeros({100})}}, 400);
  const std::string index = dir.file("model.safetensors.index.json");
  const std::string shard2 = dir.file("model-00002-of-00002.safetensors");
  const auto rewrite = [&](const nlohmann::json& j) { std::ofstream(index) << j.dump(); };
  const auto good = nlohmann::json::parse(testing_support::slurp(index));

  auto j = good;
  j["weight_map"]["c"] = "model-00002-of-00002.safetensors";
  rewrite(j);
  expect_error([&] { Checkpoint::open(dir.path()); },
               shard2 + ": tensor \"c\" is not in this shard, though model.safetensors.index.json says it is");
  j = good;
  j["weight_map"]["b"] = "model-00003-of-00003.safetensors";
  rewrite(j);
  expect_error([&] { Checkpoint::open(dir.path()); }, dir.file("model-00003-of-00003.safetensors") +
                                                          ": no such file (a shard listed in model.safetensors.index.json)");
  j = good;
  j["weight_map"]["b"] = "../model-00002-of-00002.safetensors";
  rewrite(j);
  expect_error([&] { Checkpoint::open(dir.path()); }, index + ": weight_map entry \"b\": names \"../model-00002-of-00002.safetensors\", not a file in the folder");
  j = good;
  j["weight_map"]["b"] = 2;
  rewrite(j);
  expect_error([&] { Checkpoint::open(dir.path()); }, "weight_map entry \"b\": is not a file name");
  j = good;
  j.erase("weight_map");
  rewrite(j);
  expect_error([&] { Checkpoint::open(dir.path()); }, index + ": no \"weight_map\" object");
  std::ofstream(index) << "{\"weight_map\": ";
  expect_error([&] { Checkpoint::open(dir.path()); }, index + ": malformed JSON");
  rewrite(good);
  fs::remove(shard2);
  expect_error([&] { Checkpoint::open(dir.path()); }, shard2 + ": no such file");
}

TEST(PythonExchange, ReadsAFileWrittenByPythonWithTorch) {
  ScratchDir dir;
  // Written as the safetensors library lays files out, from torch tensors
  // (BF16 through .view(torch.int16), which numpy lacks).
  const std::string script = "folder = " + nlohmann::json(dir.path().string()).dump() + R"PY(
import json, struct
import torch
torch.manual_seed(7)
tensors = {
    'f32': torch.randn(3, 5),
    'bf16': torch.randn(4, 3).to(torch.bfloat16),
    'f16': torch.randn(7).to(torch.float16),
    'f64': torch.randn(2, 2, dtype=torch.float64),
    'i64': torch.tensor([-(2 ** 62), 5, 2 ** 40]),
    'i32': torch.tensor([-7, 3], dtype=torch.int32),
    'i16': torch.tensor([-300, 300], dtype=torch.int16),
    'i8': torch.tensor([-128, 127], dtype=torch.int8),
    'u8': torch.tensor([0, 255, 7], dtype=torch.uint8),
    'flag': torch.tensor([True, False, True]),
    'scalar': torch.tensor(3.5),
    'empty': torch.zeros(0, 4),
    'transposed': torch.arange(6, dtype=torch.float32).reshape(2, 3).t(),
    'gewicht_\u00e9': torch.ones(2, dtype=torch.float16),
}
names = {torch.float32: 'F32', torch.bfloat16: 'BF16', torch.float16: 'F16', torch.float64: 'F64',
         torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8',
         torch.bool: 'BOOL'}
rank = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']
order = sorted(tensors, key=lambda k: (-rank.index(names[tensors[k].dtype]), k))
header = {'__metadata__': {'format': 'pt'}}
chunks, offset = [], 0
for k in order:
    t = tensors[k].contiguous()
    raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
    header[k] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
    offset += len(raw)
    chunks.append(raw)
text = json.dumps(header, separators=(',', ':')).encode()
text += b' ' * ((8 - len(text) % 8) % 8)
with open(folder + '/model.safetensors', 'wb') as f:
    f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
expected = {k: {'dtype': names[t.dtype], 'shape': list(t.shape), 'values': t.to(torch.float64).flatten().tolist()}
            for k, t in tensors.items()}
json.dump(expected, open(folder + '/expected.json', 'w'))
)PY";
  ASSERT_EQ(testing_support::run_python(script), 0);
  const auto expected = nlohmann::json::parse(testing_support::slurp(dir.path() / "expected.json"));
  const auto c = Checkpoint::open(dir.path());
  EXPECT_EQ(c.names().size(), expected.size());
  for (const auto& [name, e] : expected.items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(c.contains(name));
    EXPECT_EQ(c.shape(name), e["shape"].get<std::vector<std::int64_t>>());
    const auto info = SafetensorsFile::open(dir.path() / "model.safetensors")->find(name);
    EXPECT_EQ(storage_dtype_name(info->dtype), e["dtype"].get<std::string>());
    const at::Tensor values = c.tensor(name, at::kDouble).reshape({-1});
    const auto want = e["values"].get<std::vector<double>>();
    ASSERT_EQ(values.numel(), static_cast<std::int64_t>(want.size()));
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(values[static_cast<std::int64_t>(i)].item<double>(), want[i]) << i;
    // In its stored dtype, and back through ours: the same bytes.
    const at::Tensor stored = c.tensor(name, c.stored_dtype(name));
    EXPECT_TRUE(at::equal(stored.to(at::kDouble).reshape({-1}), values));
  }
  EXPECT_TRUE(c.tensor("flag", at::kBool).equal(bools({1, 0, 1})));
  EXPECT_EQ(c.tensor("scalar", at::kFloat).dim(), 0);
}

TEST(PythonExchange, PythonReadsEveryDtypeWeWrite) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", at::randn({3, 4})},
      {"bf16", at::randn({5}).to(at::kBFloat16)},
      {"f16", at::randn({2, 3}).to(at::kHalf)},
      {"f64", at::randn({3}, at::kDouble)},
      {"i64", at::tensor({std::int64_t(-5), std::int64_t(1) << 50})},
      {"i32", at::tensor({-3, 4}, at::kInt)},
      {"i16", at::tensor({-300, 300}, at::kShort)},
      {"i8", at::tensor({-128, 127}, at::kChar)},
      {"u8", at::tensor({0, 255}, at::kByte)},
      {"flag", bools({0, 1, 1})},
      {"scalar", at::scalar_tensor(-1.25)},
      {"empty", at::zeros({4, 0}, at::kInt)},
  };
  save_checkpoint(dir.path(), tensors);
  ASSERT_EQ(testing_support::python_read_safetensors(dir.path() / "model.safetensors", dir.file("seen.json")), 0);
  const auto seen = nlohmann::json::parse(testing_support::slurp(dir.file("seen.json")));
  EXPECT_EQ(seen["__metadata__"], (nlohmann::json{{"format", "pt"}}));
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const auto& s = seen[name];
    EXPECT_EQ(s["shape"].get<std::vector<std::int64_t>>(), t.sizes().vec());
    const at::Tensor flat = t.to(at::kDouble).reshape({-1});
    EXPECT_DOUBLE_EQ(s["value_sum"].get<double>(), flat.sum().item<double>());
    for (std::size_t i = 0; i < s["first"].size(); ++i)
      EXPECT_EQ(s["first"][i].get<double>(), flat[static_cast<std::int64_t>(i)].item<double>());
  }
}

// A file image with the header exactly as given (no padding).
void write_raw(const fs::path& file, const std::string& header, const std::vector<std::byte>& data) {
  std::ofstream out(file, std::ios::binary);
  const std::uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<long>(data.size()));
}

TEST(CheckpointReading, UnalignedDataIsCopiedToAlignedMemory) {
  ScratchDir dir;
  const double values[] = {1.5, -2.25, 1e300};
  std::vector<std::byte> data(24);
  std::memcpy(data.data(), values, 24);
  std::string header = "{\"w\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}";
  if (header.size() % 8 == 0) header += ' ';
  write_raw(dir.path() / "model.safetensors", header, data);
  const auto c = Checkpoint::open(dir.path());
  const at::Tensor w = c.tensor("w", at::kDouble);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w.data_ptr()) % 8, 0u);
  EXPECT_TRUE(at::equal(w, at::tensor({1.5, -2.25, 1e300}, at::kDouble)));
  EXPECT_TRUE(at::equal(c.tensor("w", at::kFloat), at::tensor({1.5, -2.25, 1e300}, at::kDouble).to(at::kFloat)));
}

TEST(CheckpointReading, UnsignedStorageIsWidenedAndBoolsNormalised) {
  ScratchDir dir;
  const std::uint16_t u16[] = {0, 65535};
  const std::uint32_t u32[] = {4294967295u, 1};
  const std::uint64_t u64[] = {9223372036854775807ull};
  const std::uint64_t u64_big[] = {9223372036854775808ull};
  const std::uint8_t flags[] = {0, 1, 2, 255};
  const auto bytes = [](const auto& a) { return std::as_bytes(std::span(a)); };
  SafetensorsWriter w;
  w.add("u16", StorageDtype::U16, {2}, bytes(u16));
  w.add("u32", StorageDtype::U32, {2}, bytes(u32));
  w.add("u64", StorageDtype::U64, {1}, bytes(u64));
  w.add("u64_big", StorageDtype::U64, {1}, bytes(u64_big));
  w.add("flags", StorageDtype::BOOL, {2, 2}, bytes(flags));
  w.write(dir.path() / "model.safetensors");
  const auto c = Checkpoint::open(dir.path());
  EXPECT_TRUE(at::equal(c.tensor("u16", at::kInt), at::tensor({0, 65535}, at::kInt)));
  EXPECT_TRUE(at::equal(c.tensor("u32", at::kLong), at::tensor({std::int64_t(4294967295), std::int64_t(1)})));
  EXPECT_EQ(c.tensor("u64", at::kLong).item<std::int64_t>(), 9223372036854775807);
  EXPECT_EQ(c.tensor("u16", at::kFloat)[1].item<float>(), 65535.0f);
  expect_error([&] { c.tensor("u64_big", at::kLong); },
               "model.safetensors: tensor \"u64_big\": U64 value 9223372036854775808 does not fit in int64");
  expect_error([&] { c.stored_dtype("u32"); }, "tensor \"u32\": stored as U32, which libtorch has no dtype for");
  EXPECT_EQ(c.stored_dtype("flags"), at::kBool);
  EXPECT_TRUE(at::equal(c.tensor("flags", at::kBool), bools({0, 1, 1, 1}).reshape({2, 2})));
  EXPECT_TRUE(at::equal(c.tensor("flags", at::kByte), at::tensor({0, 1, 1, 1}, at::kByte).reshape({2, 2})));
}

}  // namespace
}  // namespace c2s
