// SafetensorsFile and SafetensorsWriter: every header lie refused with a
// message that names it, truncated files, what is accepted, and the bytes
// the writer produces.
#include "model/safetensors_file.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "test_support.hpp"

namespace c2s {
namespace {

namespace fs = std::filesystem;
using testing_support::expect_error;
using testing_support::ScratchDir;

const fs::path kGpt2 = fs::path(C2S_SHARED_DIR) / "golden" / "models" / "gpt2-tiny" / "model.safetensors";

std::vector<std::byte> to_bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// A file image: the 8-byte length of `header` (as given: no padding added),
// the header, then `data_bytes` bytes of data (0, 1, 2...).
std::vector<std::byte> image(const std::string& header, std::size_t data_bytes) {
  std::string s(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(s.data(), &n, 8);
  s += header;
  for (std::size_t i = 0; i < data_bytes; ++i) s += static_cast<char>(i);
  return to_bytes(s);
}

SafetensorsFile parse(const std::vector<std::byte>& bytes) { return SafetensorsFile::parse(bytes, "mem.safetensors"); }

// Expects the image to be refused with `part` in the message.
void expect_refused(const std::string& header, std::size_t data_bytes, const std::string& part) {
  SCOPED_TRACE(header);
  const auto bytes = image(header, data_bytes);
  expect_error([&] { parse(bytes); }, part);
}

std::string read_file(const fs::path& path) { return testing_support::slurp(path); }

TEST(SafetensorsFile, ReadsTheGoldenGpt2File) {
  const auto file = SafetensorsFile::open(kGpt2);
  EXPECT_EQ(file->path(), kGpt2);
  EXPECT_EQ(file->tensors().size(), 32u);
  EXPECT_EQ(file->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  const TensorInfo* wte = file->find("wte.weight");
  ASSERT_NE(wte, nullptr);
  EXPECT_EQ(wte->dtype, StorageDtype::F32);
  EXPECT_EQ(wte->shape, (std::vector<std::int64_t>{512, 64}));
  EXPECT_EQ(file->bytes(*wte).size(), 512u * 64 * 4);
  EXPECT_EQ(file->find("transformer.wte.weight"), nullptr);
  // In data order, back to back.
  std::uint64_t at = 0;
  for (const auto& t : file->tensors()) {
    EXPECT_EQ(t.begin, at) << t.name;
    at = t.end;
  }
  EXPECT_EQ(file->data_offset() + at, fs::file_size(kGpt2));
}

TEST(SafetensorsFile, DtypeNamesAndSizes) {
  const std::pair<const char*, std::size_t> expected[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"U16", 2},
                                                          {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},
                                                          {"F64", 8},  {"I64", 8}, {"U64", 8}};
  for (const auto& [name, size] : expected) {
    const StorageDtype d = parse_storage_dtype(name);
    EXPECT_EQ(storage_dtype_name(d), name);
    EXPECT_EQ(element_size(d), size) << name;
  }
  expect_error([] { parse_storage_dtype("F8_E4M3"); }, "unknown safetensors dtype \"F8_E4M3\"");
  expect_error([] { parse_storage_dtype("f32"); }, "unknown safetensors dtype \"f32\"");
}

TEST(SafetensorsFile, RefusesShortFilesAndLyingHeaderLengths) {
  for (std::size_t n = 0; n < 8; ++n)
    expect_error([&] { parse(std::vector<std::byte>(n)); }, "mem.safetensors: file is " + std::to_string(n) +
                                                                 " bytes long, too short for the 8-byte header length");
  auto bytes = image("{}", 0);
  bytes[0] = std::byte{200};
  expect_error([&] { parse(bytes); }, "mem.safetensors: header length 200 runs past the end of the file (10 bytes");
  bytes[7] = std::byte{0xFF};  // 2^63 and more: no overflow when adding 8
  expect_error([&] { parse(bytes); }, "runs past the end of the file");
  // Over the Python library's 100 MB limit, in a file that long.
  std::vector<std::byte> big(100'000'016, std::byte{' '});
  const std::uint64_t n = 100'000'001;
  std::memcpy(big.data(), &n, 8);
  expect_error([&] { parse(big); }, "header length 100000001 is over the limit of 100000000 bytes");
}

TEST(SafetensorsFile, RefusesHeadersThatAreNotAJsonObject) {
  expect_refused("", 0, "mem.safetensors: header does not start with '{'");
  expect_refused(" {}", 0, "header does not start with '{'");
  expect_refused("{", 0, "header is not valid JSON");
  expect_refused("{\"a\":{}} x", 0, "header is not valid JSON");
  expect_refused("{\"\xC3\x28\":{}}", 0, "header is not valid JSON");       // invalid UTF-8 in a name
  expect_refused("{\"a\xED\xA0\x80\":{}}", 0, "header is not valid JSON");  // a UTF-8-encoded surrogate
  expect_refused(std::string("{}\0\0\0\0\0\0", 8), 0, "header is not valid JSON: a NUL byte at header offset 2");
  expect_refused(std::string("{\"a\0\":3}", 8), 0, "a NUL byte at header offset 3");
  expect_refused("{/* c */}", 0, "header is not valid JSON");
  expect_refused("[]", 0, "mem.safetensors: header does not start with '{'");
  expect_refused("null", 0, "header does not start with '{'");
}

TEST(SafetensorsFile, RefusesBadEntriesNamingTheTensor) {
  const std::string ok_offsets = "\"data_offsets\":[0,8]";
  expect_refused("{\"w\":3}", 8, "mem.safetensors: tensor \"w\": header entry is not an object");
  expect_refused("{\"w\":[\"F32\"]}", 8, "tensor \"w\": header entry is not an object");
  expect_refused("{\"w\":{\"shape\":[2]," + ok_offsets + "}}", 8, "tensor \"w\": \"dtype\" is missing or not a string");
  expect_refused("{\"w\":{\"dtype\":4,\"shape\":[2]," + ok_offsets + "}}", 8, "\"dtype\" is missing or not a string");
  expect_refused("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2]," + ok_offsets + "}}", 8, "tensor \"w\": unknown dtype \"Q4\"");
  expect_refused("{\"w\":{\"dtype\":\"F8_E5M2\",\"shape\":[8]," + ok_offsets + "}}", 8, "unknown dtype \"F8_E5M2\"");
  expect_refused("{\"w\":{\"dtype\":\"F32\"," + ok_offsets + "}}", 8, "tensor \"w\": \"shape\" is missing or not a list");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":2," + ok_offsets + "}}", 8, "\"shape\" is missing or not a list");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2]," + ok_offsets + "}}", 8,
                 "tensor \"w\": shape holds -2, not a non-negative integer");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0]," + ok_offsets + "}}", 8, "shape holds 2.0, not a non-negative");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e1]," + ok_offsets + "}}", 8, "not a non-negative integer");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"]," + ok_offsets + "}}", 8, "shape holds \"2\"");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[null]," + ok_offsets + "}}", 8, "shape holds null");
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999]," + ok_offsets + "}}", 8,
                 "not a non-negative integer");  // beyond uint64: nlohmann reads a float
  expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808]," + ok_offsets + "}}", 8,
                 "tensor \"w\": shape dimension 9223372036854775808 is too large");
  expect_refused("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296]," + ok_offsets + "}}", 8,
                 "tensor \"w\": shape [4294967296, 4294967296] has more elements than fit in 64 bits");
  expect_refused("{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,536870912]," + ok_offsets + "}}", 8,
                 "more elements than fit in 64 bits");  // the element count fits; its bytes do not
  const std::string head = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]";
  const std::string not_pair = "tensor \"w\": \"data_offsets\" is missing or not [begin, end]";
  expect_refused(head + "}}", 8, not_pair);
  expect_refused(head + ",\"data_offsets\":[0]}}", 8, not_pair);
  expect_refused(head + ",\"data_offsets\":[0,8,8]}}", 8, not_pair);
  expect_refused(head + ",\"data_offsets\":[-1,7]}}", 8, not_pair);
  expect_refused(head + ",\"data_offsets\":[0,8.0]}}", 8, not_pair);
  expect_refused(head + ",\"data_offsets\":{\"0\":8}}}", 8, not_pair);
  expect_refused(head + ",\"data_offsets\":[8,0]}}", 8, "tensor \"w\": data_offsets [8, 0] end before they begin");
  expect_refused(head + ",\"data_offsets\":[0,4]}}", 8,
                 "tensor \"w\": data_offsets [0, 4] hold 4 bytes, but shape [2] of F32 needs 8");
  expect_refused(head + ",\"data_offsets\":[0,8]}}", 7,
                 "tensor \"w\": data_offsets [0, 8] run past the end of the data section (7 bytes");
  expect_refused(head + ",\"data_offsets\":[18446744073709551608,18446744073709551615]}}", 8, "hold 7 bytes");
  expect_refused(head + ",\"data_offsets\":[18446744073709551607,18446744073709551615]}}", 8, "run past the end");
  // Names with control characters stay on one line in messages.
  expect_refused("{\"a\\nb\":3}", 0, "tensor \"a\\nb\": header entry is not an object");
}

TEST(SafetensorsFile, RefusesOverlapsDuplicatesAndBadMetadata) {
  const auto f32 = [](const std::string& name, int begin, int end, int n) {
    std::string entry = "\"";
    entry.append(name).append("\":{\"dtype\":\"F32\",\"shape\":[").append(std::to_string(n));
    entry.append("],\"data_offsets\":[").append(std::to_string(begin)).append(",").append(std::to_string(end));
    return entry + "]}";
  };
  // Built by appending: GCC 12 warns (-Wrestrict, a false positive) about "{" + std::string.
  const auto object = [](std::initializer_list<std::string> entries) {
    std::string json = "{";
    for (const auto& e : entries) json.append(json.size() > 1 ? "," : "").append(e);
    return json + "}";
  };
  expect_refused(object({f32("a", 0, 8, 2), f32("b", 4, 12, 2)}), 12,
                 "mem.safetensors: tensor \"b\" (bytes [4, 12]) overlaps tensor \"a\" (bytes [0, 8])");
  expect_refused(object({f32("a", 0, 16, 4), f32("b", 4, 8, 1)}), 16, "tensor \"b\" (bytes [4, 8]) overlaps");
  expect_refused(object({f32("a", 0, 8, 2), f32("b", 0, 8, 2)}), 8, "overlaps");
  // A long tensor overlapping one that starts after a shorter one ends.
  expect_refused(object({f32("a", 0, 32, 8), f32("b", 8, 12, 1), f32("c", 16, 20, 1)}), 32,
                 "tensor \"b\" (bytes [8, 12]) overlaps tensor \"a\"");
  expect_refused(object({f32("a", 0, 8, 2), f32("a", 8, 16, 2)}), 16, "mem.safetensors: header names \"a\" twice");
  expect_refused("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "header names \"__metadata__\" twice");
  expect_refused("{\"__metadata__\":[\"pt\"]}", 0, "mem.safetensors: __metadata__ is not a map of strings to strings");
  expect_refused("{\"__metadata__\":\"pt\"}", 0, "__metadata__ is not a map of strings to strings");
  expect_refused("{\"__metadata__\":{\"format\":\"pt\",\"step\":3}}", 0, "__metadata__ entry \"step\" is not a string");
}

TEST(SafetensorsFile, AcceptsWhatThePythonLibraryWritesOrReads) {
  // Empty tensors anywhere (they occupy no bytes), extra keys in an entry,
  // any key order, whitespace, no padding.
  const auto f = parse(image(
      "{\n \"b\": {\"shape\": [2], \"dtype\": \"I16\", \"data_offsets\": [4, 8], \"note\": 1},\n"
      " \"empty\": {\"dtype\": \"F64\", \"shape\": [0, 3], \"data_offsets\": [6, 6]},\n"
      " \"scalar\": {\"dtype\": \"BF16\", \"shape\": [], \"data_offsets\": [8, 10]},\n"
      " \"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]},\n"
      " \"__metadata__\": {\"format\": \"pt\", \"x\": \"\"}}",
      10));
  ASSERT_EQ(f.tensors().size(), 4u);
  EXPECT_EQ(f.tensors()[0].name, "a");
  EXPECT_EQ(f.tensors()[1].name, "b");
  EXPECT_EQ(f.tensors()[2].name, "empty");
  EXPECT_EQ(f.tensors()[3].name, "scalar");
  EXPECT_TRUE(f.find("scalar")->shape.empty());
  EXPECT_EQ(f.find("empty")->shape, (std::vector<std::int64_t>{0, 3}));
  EXPECT_EQ(f.bytes(*f.find("empty")).size(), 0u);
  EXPECT_EQ(static_cast<int>(f.bytes(*f.find("b"))[1]), 5);
  EXPECT_EQ(f.metadata().at("x"), "");
  EXPECT_TRUE(parse(image("{}", 0)).tensors().empty());
}

TEST(SafetensorsFile, AcceptsHolesAndTrailingBytesUnlikeThePythonLibrary) {
  // Documented in docs/formats/safetensors.md: nothing is read from the
  // gaps, so they cannot mislead; the writer never leaves any.
  const auto f = parse(image(
      "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[8,10]}}",
      16));
  EXPECT_EQ(static_cast<int>(f.bytes(*f.find("a"))[0]), 2);
  EXPECT_EQ(static_cast<int>(f.bytes(*f.find("b"))[1]), 9);
}

TEST(SafetensorsFile, EveryTruncationOfAGoldenFileIsAnError) {
  const auto whole = to_bytes(read_file(kGpt2));
  const auto full = parse(whole);
  const std::size_t header_end = full.data_offset();
  std::size_t cuts = 0;
  auto cut_at = [&](std::size_t n) {
    const std::vector<std::byte> cut(whole.begin(), whole.begin() + static_cast<long>(n));
    ++cuts;
    try {
      parse(cut);
      ADD_FAILURE() << "a file cut to " << n << " of " << whole.size() << " bytes was accepted";
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
      EXPECT_TRUE(what.starts_with("mem.safetensors: ")) << what;
      if (n >= header_end) {
        EXPECT_NE(what.find("run past the end of the data section"), std::string::npos) << what;
      }
    }
  };
  for (std::size_t n = 0; n < header_end + 64; ++n) cut_at(n);
  for (std::size_t n = header_end + 64; n < whole.size(); n += 997) cut_at(n);
  cut_at(whole.size() - 1);
  EXPECT_GT(cuts, 3000u);
  // With the file's own length field rewritten to fit the cut, the header
  // itself is cut: still an Error, never a crash.
  for (std::size_t n = 8; n < header_end; n += 7) {
    std::vector<std::byte> cut(whole.begin(), whole.begin() + static_cast<long>(n));
    const std::uint64_t len = n - 8;
    std::memcpy(cut.data(), &len, 8);
    expect_error([&] { parse(cut); }, "mem.safetensors: ");
  }
}

TEST(SafetensorsFile, EmptyFilesAreReadRatherThanMapped) {
  ScratchDir dir;
  std::ofstream(dir.file("empty.safetensors")).close();
  expect_error([&] { SafetensorsFile::open(dir.file("empty.safetensors")); },
               dir.file("empty.safetensors") + ": file is 0 bytes long");
  expect_error([&] { SafetensorsFile::open(dir.file("absent.safetensors")); },
               dir.file("absent.safetensors") + ": no such file");
}

TEST(SafetensorsWriter, WritesThePythonLibrarysBytes) {
  // The layout of the Rust library's own serialisation tests: compact JSON,
  // padded with spaces to 8 bytes, data little-endian back to back.
  const float values[] = {0, 1, 2, 3, 4, 5};
  const std::span<const std::byte> data(reinterpret_cast<const std::byte*>(values), sizeof values);
  SafetensorsWriter w;
  w.add("attn.0", StorageDtype::F32, {1, 2, 3}, data);
  std::string expected_header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
  ASSERT_EQ(expected_header.size(), 64u);
  EXPECT_EQ(w.header(), std::string("\x40\0\0\0\0\0\0\0", 8) + expected_header);
  auto img = w.image();
  EXPECT_EQ(img.size(), 8 + 64 + 24u);
  EXPECT_EQ(std::memcmp(img.data() + 72, values, 24), 0);

  SafetensorsWriter unpadded;
  unpadded.add("attn0", StorageDtype::F32, {1, 1, 2, 3}, data);
  EXPECT_EQ(unpadded.header(), std::string("\x48\0\0\0\0\0\0\0", 8) +
                                   "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ");

  SafetensorsWriter empty;
  EXPECT_EQ(empty.header(), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  empty.set_metadata({{"framework", "pt"}});
  EXPECT_EQ(empty.header(), std::string("\x28\0\0\0\0\0\0\0", 8) + "{\"__metadata__\":{\"framework\":\"pt\"}}     ");
}

TEST(SafetensorsWriter, OrdersByDtypeWidestFirstThenByName) {
  std::vector<std::byte> zeros(64);
  const auto z = [&](std::size_t n) { return std::span<const std::byte>(zeros.data(), n); };
  SafetensorsWriter w;
  w.add("u8", StorageDtype::U8, {3}, z(3));
  w.add("z", StorageDtype::F32, {1}, z(4));
  w.add("b", StorageDtype::F32, {2}, z(8));
  w.add("i64", StorageDtype::I64, {}, z(8));
  w.add("bf16", StorageDtype::BF16, {2, 1}, z(4));
  w.add("flag", StorageDtype::BOOL, {1}, z(1));
  w.add("half", StorageDtype::F16, {0}, z(0));
  w.add("u64", StorageDtype::U64, {1}, z(8));
  w.add("f64", StorageDtype::F64, {1}, z(8));
  w.set_metadata({{"format", "pt"}});
  EXPECT_EQ(w.size(), 9u);
  EXPECT_EQ(w.data_bytes(), 44u);
  const auto img = w.image();
  const auto f = parse(img);
  std::vector<std::string> order;
  for (const auto& t : f.tensors()) order.push_back(t.name);
  EXPECT_EQ(order, (std::vector<std::string>{"u64", "i64", "f64", "b", "z", "bf16", "half", "u8", "flag"}));
  EXPECT_EQ(f.data_offset() % 8, 0u);
  EXPECT_EQ(f.tensors().back().end, 44u);
  // The header lists them in the same order, __metadata__ first.
  const std::string header(reinterpret_cast<const char*>(img.data()) + 8, f.data_offset() - 8);
  EXPECT_TRUE(header.starts_with("{\"__metadata__\":{\"format\":\"pt\"},\"u64\":"));
  EXPECT_LT(header.find("\"half\""), header.find("\"u8\""));
}

TEST(SafetensorsWriter, RefusesWhatCouldNotBeReadBack) {
  std::vector<std::byte> zeros(16);
  SafetensorsWriter w;
  w.add("a", StorageDtype::F32, {2}, std::span<const std::byte>(zeros.data(), 8));
  expect_error([&] { w.add("a", StorageDtype::F32, {2}, std::span<const std::byte>(zeros.data(), 8)); },
               "tensor \"a\": the name is given twice");
  expect_error([&] { w.add("__metadata__", StorageDtype::U8, {1}, std::span<const std::byte>(zeros.data(), 1)); },
               "the name is reserved");
  expect_error([&] { w.add("b", StorageDtype::F32, {-2}, std::span<const std::byte>(zeros.data(), 8)); },
               "tensor \"b\": shape [-2] has a negative dimension");
  expect_error([&] { w.add("c", StorageDtype::F32, {3}, std::span<const std::byte>(zeros.data(), 8)); },
               "tensor \"c\": 8 bytes given for shape [3] of F32");
  expect_error([&] { w.add("\xFF", StorageDtype::U8, {1}, std::span<const std::byte>(zeros.data(), 1)); },
               "the name is not valid UTF-8");
  EXPECT_EQ(w.size(), 1u);
}

TEST(SafetensorsWriter, WritesAtomicallyAndReadsBack) {
  ScratchDir dir;
  const std::int64_t values[] = {-1, 2, 1LL << 40};
  SafetensorsWriter w;
  w.add("ids", StorageDtype::I64, {3}, std::span<const std::byte>(reinterpret_cast<const std::byte*>(values), 24));
  w.write(dir.path() / "out.safetensors");
  EXPECT_EQ(dir.entries(), 1u);  // no temporary left beside it
  const auto f = SafetensorsFile::open(dir.path() / "out.safetensors");
  const auto bytes = f->bytes(*f->find("ids"));
  EXPECT_EQ(std::memcmp(bytes.data(), values, 24), 0);
  const auto img = w.image();
  EXPECT_EQ(read_file(dir.path() / "out.safetensors"), std::string(reinterpret_cast<const char*>(img.data()), img.size()));
  expect_error([&] { w.write(dir.path() / "absent" / "out.safetensors"); }, "does not exist");
}

}  // namespace
}  // namespace c2s
