#include "core/atomic_output.hpp"

#include <unistd.h>

#include <atomic>
#include <fmt/format.h>
#include <system_error>

#include "core/error.hpp"

namespace c2s {

namespace fs = std::filesystem;

AtomicOutput::AtomicOutput(fs::path target) : target_(std::move(target)) {
  if (target_.empty()) throw UsageError("output path is empty");
  fs::path parent = target_.parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    throw Error(target_.string(), "output folder " + parent.string() + " does not exist");
  if (access(parent.c_str(), W_OK) != 0)
    throw Error(target_.string(), "output folder " + parent.string() + " is not writable");
  static std::atomic<int> counter{0};
  temp_ = parent / fmt::format(".{}.tmp-{}-{}", target_.filename().string(), getpid(), counter++);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  if (fs::is_directory(temp_, ec) && fs::exists(target_, ec)) fs::remove_all(target_, ec);
  fs::rename(temp_, target_, ec);
  if (ec) throw Error(target_.string(), "cannot move output into place: " + ec.message());
  committed_ = true;
}

}  // namespace c2s
