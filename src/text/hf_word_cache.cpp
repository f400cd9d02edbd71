// Per-thread word tables, handed out by tokenizer serial number.
#include "text/hf_word_cache.hpp"

#include <array>
#include <atomic>
#include <memory>

namespace c2s {
namespace {

std::atomic<std::uint64_t> next_serial{1};

struct ThreadTables {
  struct Slot {
    std::uint64_t serial = 0;
    std::unique_ptr<WordIdTable> table;
  };
  std::array<Slot, 4> slots;
  std::size_t next_victim = 0;
};

}  // namespace

HfWordCache::HfWordCache() : serial_(next_serial.fetch_add(1)) {}

WordIdTable& HfWordCache::thread_table() const {
  thread_local ThreadTables tables;
  for (auto& s : tables.slots)
    if (s.serial == serial_) return *s.table;
  auto& s = tables.slots[tables.next_victim++ % tables.slots.size()];
  if (s.table)
    s.table->clear();
  else
    s.table = std::make_unique<WordIdTable>();
  s.serial = serial_;
  return *s.table;
}

}  // namespace c2s
