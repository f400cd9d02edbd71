// The module c2s_sentencepiece.so: libsentencepiece's processor behind
// SentencePieceProcessor (see text/sentencepiece_processor.hpp for why it is
// a separately loaded module).
#include <sentencepiece_processor.h>

#include "text/sentencepiece_processor.hpp"

namespace {

class LibraryProcessor final : public c2s::SentencePieceProcessor {
 public:
  std::string load(const std::string& path) override {
    auto s = sp_.Load(path);
    return s.ok() ? "" : s.ToString();
  }
  std::string encode(std::string_view text, std::vector<int>& ids) const override {
    auto s = sp_.Encode(text, &ids);
    return s.ok() ? "" : s.ToString();
  }
  std::string decode(const std::vector<int>& ids, std::string& text) const override {
    auto s = sp_.Decode(ids, &text);
    return s.ok() ? "" : s.ToString();
  }
  int size() const override { return sp_.GetPieceSize(); }
  bool is_control(int id) const override { return sp_.IsControl(id); }
  bool is_unknown(int id) const override { return sp_.IsUnknown(id); }
  std::string id_to_piece(int id) const override { return sp_.IdToPiece(id); }
  int piece_to_id(std::string_view piece) const override { return sp_.PieceToId(piece); }
  int bos_id() const override { return sp_.bos_id(); }
  int eos_id() const override { return sp_.eos_id(); }
  int pad_id() const override { return sp_.pad_id(); }
  int unk_id() const override { return sp_.unk_id(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

extern "C" c2s::SentencePieceProcessor* c2s_make_sentencepiece_processor() { return new LibraryProcessor(); }
