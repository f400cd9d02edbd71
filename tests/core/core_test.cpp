// The core services: thread pool, atomic outputs, random streams.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "test_support.hpp"

namespace c2s {
using testing_support::ScratchDir;

TEST(ThreadPool, RunsEveryItemOnceAndRethrows) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.parallel_for(hits.size(), [&](std::size_t i) { ++hits[i]; });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_THROW(pool.parallel_for(100, [](std::size_t i) {
    if (i == 57) throw Error("item 57");
  }),
               Error);
  // Still usable after an exception.
  std::atomic<int> n{0};
  pool.parallel_for(10, [&](std::size_t) { ++n; });
  EXPECT_EQ(n.load(), 10);
}

TEST(AtomicOutput, NothingAppearsWithoutCommit) {
  ScratchDir dir;
  const auto target = dir.path() / "out.txt";
  {
    AtomicOutput out(target);
    std::ofstream(out.temp_path()) << "partial";
    EXPECT_EQ(out.temp_path().parent_path(), dir.path());
  }
  EXPECT_EQ(dir.entries(), 0u);
  {
    AtomicOutput out(target);
    std::ofstream(out.temp_path()) << "done";
    out.commit();
  }
  EXPECT_EQ(dir.entries(), 1u);
  std::ifstream in(target);
  std::string s;
  in >> s;
  EXPECT_EQ(s, "done");
  EXPECT_THROW(AtomicOutput(dir.path() / "missing" / "x"), Error);
}

TEST(AtomicOutput, AFolderNamedWithATrailingSlash) {
  ScratchDir dir;
  AtomicOutput out(dir.path().string() + "/results//");
  EXPECT_EQ(out.target(), dir.path() / "results");
  EXPECT_EQ(out.temp_path().parent_path(), dir.path());
  std::filesystem::create_directories(out.temp_path());
  std::ofstream(out.temp_path() / "a.csv") << "x\n";
  out.commit();
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "results" / "a.csv"));
  EXPECT_EQ(dir.entries(), 1u);
}

TEST(AtomicTextFile, WritesLinesOnlyOnCommit) {
  ScratchDir dir;
  const auto target = dir.path() / "lines.jsonl";
  {
    AtomicTextFile out(target);
    out.write("{\"a\": 1}\n");
  }  // an error before commit: nothing left behind
  EXPECT_EQ(dir.entries(), 0u);
  {
    AtomicTextFile out(target);
    out.write("one\n");
    out.write("two\n");
    out.commit();
  }
  EXPECT_EQ(testing_support::slurp(target), "one\ntwo\n");
  EXPECT_EQ(dir.entries(), 1u);
  EXPECT_THROW(AtomicTextFile(dir.path() / "missing" / "x.txt"), Error);
}

TEST(Random, StreamsAreKeyedBySeedAndStream) {
  Rng a(1, 5), b(1, 5), c(1, 6), d(2, 5);
  std::uint64_t x = a.next();
  EXPECT_EQ(x, b.next());
  EXPECT_NE(x, c.next());
  EXPECT_NE(x, d.next());
  Rng r(3);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[r.below(7)];
  for (int n : counts) EXPECT_NEAR(n, 10000, 500);
  for (int i = 0; i < 1000; ++i) {
    double u = r.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

}  // namespace c2s
