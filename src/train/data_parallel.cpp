#include "train/data_parallel.hpp"

#include <ATen/ATen.h>
#include <ATen/MemoryOverlap.h>
#include <ATen/core/grad_mode.h>

// Torch's CMake targets define USE_C10D_GLOO, which opens this header.
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <functional>

#include "core/error.hpp"

namespace c2s {

namespace {

// libtorch's messages carry a backtrace and Gloo's several lines; the CLI
// prints one line.
std::string first_line(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string message = torch_error ? torch_error->what_without_backtrace() : e.what();
  message = message.substr(0, message.find('\n'));
  return message.empty() ? "unknown error" : message;
}

void check_options(const DistributedOptions& o) {
  if (o.world_size < 1)
    throw UsageError("data parallel: world size must be at least 1 (got " + std::to_string(o.world_size) + ")");
  if (o.rank < 0 || o.rank >= o.world_size)
    throw UsageError("data parallel: rank " + std::to_string(o.rank) + " is outside 0.." +
                     std::to_string(o.world_size - 1) + " for a world of " + std::to_string(o.world_size));
  if (o.file_store.empty() && (o.master_port < 1 || o.master_port > 65535))
    throw UsageError("data parallel: master port " + std::to_string(o.master_port) + " is outside 1..65535");
  if (o.file_store.empty() && o.master_addr.empty())
    throw UsageError("data parallel: no master address (or file store) to meet the other ranks at");
  if (o.timeout.count() < 1) throw UsageError("data parallel: the timeout must be at least 1 second");
  if (o.bucket_bytes < 1) throw UsageError("data parallel: the bucket size must be at least 1 byte");
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedOptions& o) {
  using c10d::ProcessGroupGloo;
  if (!o.interface.empty()) return ProcessGroupGloo::createDeviceForInterface(o.interface);
  // The default device binds to the address of this machine's hostname, which
  // need not be up when every rank is on this machine and meets on loopback.
  if (o.file_store.empty() && is_loopback(o.master_addr)) return ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return ProcessGroupGloo::createDefaultDevice();
}

void check_tensors(const std::vector<at::Tensor>& tensors) {
  for (const auto& t : tensors) {
    if (!t.defined()) throw Error("data parallel: an undefined tensor");
    if (!t.device().is_cpu() || t.layout() != at::kStrided)
      throw Error("data parallel: only dense CPU tensors travel (got " + t.toString() + ")");
    if (t.scalar_type() != tensors.front().scalar_type())
      throw Error("data parallel: one call takes one dtype (got " + std::string(c10::toString(t.scalar_type())) +
                  " after " + c10::toString(tensors.front().scalar_type()) + ")");
    if (at::has_internal_overlap(t) == at::MemOverlap::Yes)
      throw Error("data parallel: a tensor whose elements share memory (an expanded view) cannot be written in place");
  }
}

// Runs `collective` over consecutive buckets of the tensors' elements taken as
// one flat sequence, so a tensor may span buckets and a bucket hold many
// tensors. A bucket inside one contiguous tensor is its own memory; others
// are gathered into a buffer and scattered back.
void for_each_bucket(std::vector<at::Tensor>& tensors, std::size_t bucket_bytes,
                     const std::function<void(at::Tensor&)>& collective) {
  if (tensors.empty()) return;
  // Gloo writes through raw pointers, and copy_ into a leaf that requires
  // gradients (a parameter) is refused unless autograd is off.
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  std::int64_t total = 0;
  for (const auto& t : tensors) {
    flat.push_back(t.is_contiguous() ? t.view(-1) : t.contiguous().view(-1));
    total += t.numel();
  }
  const auto bucket_elements = std::max<std::int64_t>(1, std::int64_t(bucket_bytes) / tensors.front().element_size());
  at::Tensor buffer;

  struct Piece {
    std::size_t tensor;
    std::int64_t offset, length, at;
  };
  std::vector<Piece> pieces;
  std::size_t next = 0;
  std::int64_t offset = 0;
  for (;;) {
    pieces.clear();
    std::int64_t filled = 0;
    while (filled < bucket_elements && next < flat.size()) {
      const auto left = flat[next].numel() - offset;
      if (left == 0) {
        ++next, offset = 0;
        continue;
      }
      const auto length = std::min(left, bucket_elements - filled);
      pieces.push_back({next, offset, length, filled});
      filled += length, offset += length;
    }
    if (filled == 0) break;
    if (pieces.size() == 1) {
      auto in_place = flat[pieces[0].tensor].narrow(0, pieces[0].offset, pieces[0].length);
      collective(in_place);
      continue;
    }
    if (!buffer.defined()) buffer = at::empty({std::min(bucket_elements, total)}, flat.front().options());
    auto bucket = buffer.narrow(0, 0, filled);
    for (const auto& p : pieces) bucket.narrow(0, p.at, p.length).copy_(flat[p.tensor].narrow(0, p.offset, p.length));
    collective(bucket);
    for (const auto& p : pieces) flat[p.tensor].narrow(0, p.offset, p.length).copy_(bucket.narrow(0, p.at, p.length));
  }
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (!tensors[i].is_contiguous()) tensors[i].copy_(flat[i].view(tensors[i].sizes()));
}

}  // namespace

struct DataParallel::Group {
  std::string where;  // "rank 1 of 2, TCP store 10.0.0.1:29500", for messages
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;

  // Runs one collective operation to its end, libtorch's and Gloo's failures
  // (a rank gone, the timeout) as one c2s::Error line.
  void run(const char* operation, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) const {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      throw Error("data parallel (" + where + ")", std::string(operation) + " failed: " + first_line(e));
    }
  }
};

DataParallel::DataParallel(const DistributedOptions& options)
    : rank_(options.rank), world_size_(options.world_size), bucket_bytes_(options.bucket_bytes) {
  check_options(options);
  if (world_size_ == 1) return;
  auto group = std::make_unique<Group>();
  const std::string store_name = options.file_store.empty()
                                     ? "TCP store " + options.master_addr + ":" + std::to_string(options.master_port)
                                     : "file store " + options.file_store;
  group->where = "rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ", " + store_name;
  const std::chrono::milliseconds timeout = options.timeout;
  const std::string waiting = " (timeout " + std::to_string(options.timeout.count()) + " s)";
  // The device first: a wrong interface fails at once, not after the wait.
  std::string stage = options.interface.empty() ? "opening Gloo's network device"
                                                : "opening Gloo's network device on interface " + options.interface;
  try {
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
    gloo_options->devices.push_back(gloo_device(options));
    stage = "meeting the other ranks" + waiting;
    if (options.file_store.empty()) {
      c10d::TCPStoreOptions tcp;
      tcp.port = std::uint16_t(options.master_port);
      tcp.isServer = rank_ == 0;
      tcp.numWorkers = std::size_t(world_size_);
      tcp.waitWorkers = true;
      tcp.timeout = timeout;
      group->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, tcp);
    } else {
      group->store = c10::make_intrusive<c10d::FileStore>(options.file_store, world_size_);
      group->store->setTimeout(timeout);
    }
    stage = "connecting to the other ranks" + waiting;
    group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, rank_, world_size_, gloo_options);
    // A rank's connections are up before the others' are: without this, one
    // that left at once (failing before its first collective) could break a
    // slower rank's set-up with "connection closed by peer".
    group->gloo->barrier()->wait();
  } catch (const std::exception& e) {
    throw Error("data parallel (" + group->where + ")", stage + ": " + first_line(e));
  }
  group_ = std::move(group);
}

DataParallel::~DataParallel() = default;
DataParallel::DataParallel(DataParallel&&) noexcept = default;
DataParallel& DataParallel::operator=(DataParallel&&) noexcept = default;

void DataParallel::broadcast_from_first(std::vector<at::Tensor>& tensors) {
  check_tensors(tensors);
  if (!group_) return;
  for_each_bucket(tensors, bucket_bytes_, [&](at::Tensor& bucket) {
    group_->run("broadcast", [&] {
      std::vector<at::Tensor> one{bucket};
      return group_->gloo->broadcast(one, c10d::BroadcastOptions{});
    });
  });
}

void DataParallel::sum(std::vector<at::Tensor>& tensors) {
  check_tensors(tensors);
  if (!group_) return;
  for_each_bucket(tensors, bucket_bytes_, [&](at::Tensor& bucket) {
    group_->run("sum", [&] {
      std::vector<at::Tensor> one{bucket};
      return group_->gloo->allreduce(one, c10d::AllreduceOptions{});
    });
  });
}

double DataParallel::sum(double value) {
  if (!group_) return value;
  std::vector<at::Tensor> one{at::full({1}, value, at::kDouble)};
  group_->run("sum", [&] { return group_->gloo->allreduce(one, c10d::AllreduceOptions{}); });
  return one.front().item<double>();
}

void DataParallel::barrier() {
  if (!group_) return;
  group_->run("barrier", [&] { return group_->gloo->barrier(); });
}

}  // namespace c2s
