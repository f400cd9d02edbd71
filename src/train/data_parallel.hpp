// Data-parallel training's communication: the ranks' gradient sums and the
// start from rank 0's parameters, over libtorch's Gloo process group.
#pragma once
#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace c2s {

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  // The ranks meet through a TCP store that rank 0 hosts ...
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // ... or, when this is non-empty, through a file on a file system all ranks
  // share. The file must not be left over from an earlier run (it is removed
  // when every rank has closed it cleanly).
  std::string file_store;
  // Network interface Gloo's connections use (e.g. "eth0"); "" takes the
  // loopback when master_addr is a loopback address, else the address this
  // machine's hostname resolves to.
  std::string interface;
  // For meeting the others and for every collective operation.
  std::chrono::seconds timeout{300};
  // Tensors travel in flat buckets of this many bytes (one collective each).
  std::size_t bucket_bytes = std::size_t(25) << 20;
};

// One rank of a data-parallel group. Every rank must make the same calls in
// the same order with tensors of the same dtype and sizes, or the group hangs
// until the timeout. Results are bit-identical on every rank.
class DataParallel {
 public:
  // Checks the options (c2s::UsageError) and meets the other ranks, returning
  // once every rank is connected (c2s::Error naming the store when that fails
  // or times out). A world of 1 opens no connection and makes every call a
  // no-op (the tensors' checks still apply).
  explicit DataParallel(const DistributedOptions& options);
  ~DataParallel();
  DataParallel(DataParallel&&) noexcept;
  DataParallel& operator=(DataParallel&&) noexcept;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // Tensors (CPU, one dtype for the whole list, any strides but not
  // self-overlapping like expand()'s) are changed in place. Contiguous ones
  // are communicated where they lie when a bucket falls inside one of them;
  // others go through a contiguous copy.

  // Every rank's tensors become rank 0's.
  void broadcast_from_first(std::vector<at::Tensor>& tensors);
  // Every rank's tensors become the element-wise sum over the ranks.
  void sum(std::vector<at::Tensor>& tensors);
  // The sum of `value` over the ranks (token counts, loss sums), in float64.
  double sum(double value);
  // Returns once every rank has reached it.
  void barrier();

 private:
  struct Group;
  int rank_ = 0;
  int world_size_ = 1;
  std::size_t bucket_bytes_ = 0;
  std::unique_ptr<Group> group_;  // null for a world of 1
};

}  // namespace c2s
