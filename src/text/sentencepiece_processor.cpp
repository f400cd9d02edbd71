#include "text/sentencepiece_processor.hpp"

#include <dlfcn.h>

#include <filesystem>

#include "core/error.hpp"

namespace c2s {

namespace {

MakeSentencePieceProcessor module_entry() {
  static MakeSentencePieceProcessor entry = [] {
    std::vector<std::filesystem::path> places;
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) places.push_back(self.parent_path() / "c2s_sentencepiece.so");
    places.push_back(std::filesystem::path(C2S_MODULE_DIR) / "c2s_sentencepiece.so");
    std::string why;
    for (const auto& p : places) {
      if (!std::filesystem::exists(p)) continue;
      void* handle = ::dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (!handle) {
        why = ::dlerror();
        continue;
      }
      if (void* f = ::dlsym(handle, kSentencePieceModuleEntry)) return reinterpret_cast<MakeSentencePieceProcessor>(f);
      why = p.string() + " lacks its entry point";
    }
    throw Error("cannot load the SentencePiece module c2s_sentencepiece.so (looked beside the binary and in " +
                std::string(C2S_MODULE_DIR) + ")" + (why.empty() ? "" : ": " + why));
    return MakeSentencePieceProcessor(nullptr);
  }();
  return entry;
}

}  // namespace

std::unique_ptr<SentencePieceProcessor> make_sentencepiece_processor() {
  return std::unique_ptr<SentencePieceProcessor>(module_entry()());
}

}  // namespace c2s
