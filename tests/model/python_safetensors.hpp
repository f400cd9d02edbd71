// An independent safetensors reader in Python (json + numpy, with the
// Python library's rules checked strictly), run by the tests to compare what
// c2s reads and writes; and the checksum both sides compute.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.hpp"

namespace c2s::testing_support {

// Sum of byte[i] * (i % 65521 + 1) modulo 2^64: cheap in numpy, and it
// notices a moved, dropped or changed byte.
inline std::uint64_t weighted_byte_sum(std::span<const std::byte> bytes) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    sum += static_cast<std::uint64_t>(bytes[i]) * static_cast<std::uint64_t>(i % 65521 + 1);
  return sum;
}

// Reads `file` as the safetensors library would and writes to `out` a JSON
// object: "__metadata__" (or null), "__header_bytes__", and per tensor
// {"dtype", "shape", "offsets", "byte_sum", "value_sum", "first"} (the
// values widened to float64; BF16 decoded by shifting into float32). The
// script fails (non-zero exit) on anything the library refuses, and on what
// its writer never produces: an unpadded header, keys out of data order.
inline int python_read_safetensors(const std::filesystem::path& file, const std::filesystem::path& out) {
  const std::string script = R"PY(
import json, struct
import numpy as np

b = open(path, 'rb').read()
assert len(b) >= 8, 'short file'
n, = struct.unpack('<Q', b[:8])
assert n <= 100_000_000 and 8 + n <= len(b), 'header length'
text = b[8:8 + n].decode('utf-8')
assert text.startswith('{'), 'header start'
assert n % 8 == 0, 'header not padded to 8 bytes'
pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
keys = [k for k, _ in pairs]
assert len(keys) == len(set(keys)), 'duplicate keys'
header = dict(pairs)
meta = header.pop('__metadata__', None)
if meta is not None:
    meta = dict(meta)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), 'metadata'
data = b[8 + n:]
sizes = {'BOOL': 1, 'U8': 1, 'I8': 1, 'I16': 2, 'U16': 2, 'F16': 2, 'BF16': 2,
         'I32': 4, 'U32': 4, 'F32': 4, 'F64': 8, 'I64': 8, 'U64': 8}
numpy_types = {'BOOL': np.bool_, 'U8': np.uint8, 'I8': np.int8, 'I16': '<i2', 'U16': '<u2', 'F16': '<f2',
               'I32': '<i4', 'U32': '<u4', 'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'U64': '<u8'}
result = {'__metadata__': meta, '__header_bytes__': n}
start = 0
ordered = sorted(header.items(), key=lambda kv: tuple(dict(kv[1])['data_offsets']))
assert [k for k, _ in ordered] == [k for k in keys if k != '__metadata__'], 'header keys not in data order'
for name, info in ordered:
    info = dict(info)
    s, e = info['data_offsets']
    shape = info['shape']
    assert all(isinstance(d, int) and d >= 0 for d in shape), name
    assert s == start and e >= s, 'offsets of ' + name
    start = e
    count = int(np.prod(shape, dtype=np.uint64)) if shape else 1
    assert e - s == count * sizes[info['dtype']], 'size of ' + name
    raw = data[s:e]
    if info['dtype'] == 'BF16':
        values = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)
    else:
        values = np.frombuffer(raw, numpy_types[info['dtype']])
    values = values.reshape(shape).astype(np.float64).ravel()
    raw_bytes = np.frombuffer(raw, np.uint8).astype(np.uint64)
    weights = (np.arange(len(raw), dtype=np.uint64) % np.uint64(65521)) + np.uint64(1)
    result[name] = {'dtype': info['dtype'], 'shape': shape, 'offsets': [s, e],
                    'byte_sum': int(np.sum(raw_bytes * weights, dtype=np.uint64)),
                    'value_sum': float(values.sum()), 'first': values[:4].tolist()}
assert start == len(data), 'data section not covered exactly'
json.dump(result, open(out, 'w'))
)PY";
  // JSON string literals are Python string literals too.
  return run_python("path = " + nlohmann::json(file.string()).dump() + "\nout = " + nlohmann::json(out.string()).dump() +
                    "\n" + script);
}

}  // namespace c2s::testing_support
