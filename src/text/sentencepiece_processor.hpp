// Debian's libsentencepiece behind a narrow interface, loaded from a small
// module (c2s_sentencepiece.so, beside the binaries) with its own symbol
// scope. The library carries a private copy of protobuf-lite 3.14 and exports
// it; libtorch uses libprotobuf 3.21; in one lookup scope either one's
// start-up or the other's version check aborts the process. Loaded with
// RTLD_LOCAL | RTLD_DEEPBIND, each binds to its own copy.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace c2s {

class SentencePieceProcessor {
 public:
  virtual ~SentencePieceProcessor() = default;
  // Each returns an error message, empty on success.
  virtual std::string load(const std::string& path) = 0;
  virtual std::string encode(std::string_view text, std::vector<int>& ids) const = 0;
  virtual std::string decode(const std::vector<int>& ids, std::string& text) const = 0;

  virtual int size() const = 0;
  virtual bool is_control(int id) const = 0;
  virtual bool is_unknown(int id) const = 0;
  virtual std::string id_to_piece(int id) const = 0;
  virtual int piece_to_id(std::string_view piece) const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  virtual int pad_id() const = 0;
  virtual int unk_id() const = 0;
};

// A new processor from the module; Error when the module cannot be loaded.
std::unique_ptr<SentencePieceProcessor> make_sentencepiece_processor();

// The module's one entry point (extern "C").
using MakeSentencePieceProcessor = SentencePieceProcessor* (*)();
inline constexpr const char* kSentencePieceModuleEntry = "c2s_make_sentencepiece_processor";

}  // namespace c2s
