// Conversion into a store and everything done with stores: random access,
// export, split, merge, reconstruction, thread-count independence.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "test_support.hpp"
#include "core/error.hpp"
#include "core/thread_pool.hpp"
#include "data/conversion.hpp"
#include "data/dense_test_matrix.hpp"
#include "data/reconstruction.hpp"
#include "data/sentence_export.hpp"
#include "data/sentence_store.hpp"
#include "data/store_merge.hpp"
#include "data/store_split.hpp"
#include "io/anndata_reader.hpp"

namespace c2s {
using testing_support::DenseTestMatrix;
namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  fs::path p = fs::path(::testing::TempDir()) / ("c2s_store_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

DenseTestMatrix matrix() {
  DenseTestMatrix m({{5, 1, 0, 1, 2}, {0, 3, 3, 1, 0}, {1, 1, 1, 1, 1}, {0, 0, 9, 0, 2}},
                    {"cd3e", "Ms4a1", "NKG7", "ACTB", "ACTB"});
  Column type{.name = "cell_type", .kind = Column::Kind::Categorical};
  type.categories = {"B", "T"};
  type.codes = {1, 0, -1, 1};
  Column donor{.name = "donor", .kind = Column::Kind::String};
  donor.strings = {"d1", "d1", "d2", "d3"};
  m.mutable_obs().columns = {type, donor};
  return m;
}

ConvertOptions no_filter() {
  ConvertOptions o;
  o.preprocess.min_genes = 1;
  o.preprocess.min_cells = 1;
  return o;
}
}  // namespace

// Stored zeros are not expressed genes: same sentences, counts and fit.
TEST(SentenceStore, StoredZerosAreNotInSentences) {
  auto dir = temp_dir("zeros");
  auto plain = matrix();
  auto zeros = matrix();
  zeros.store_zeros();
  convert_to_store(plain, (dir / "plain.c2s").string(), no_filter());
  convert_to_store(zeros, (dir / "zeros.c2s").string(), no_filter());
  SentenceStore a((dir / "plain.c2s").string()), b((dir / "zeros.c2s").string());
  EXPECT_EQ(a.n_entries(), b.n_entries());
  EXPECT_EQ(a.header().gene_n_cells, b.header().gene_n_cells);
  for (std::int64_t c = 0; c < a.n_cells(); ++c) EXPECT_EQ(a.sentence(c), b.sentence(c)) << c;
  EXPECT_EQ(a.inverse_model()->slope, b.inverse_model()->slope);
}

TEST(SentenceStore, ConvertAndReadBack) {
  auto dir = temp_dir("convert");
  auto m = matrix();
  ConvertResult r = convert_to_store(m, (dir / "a.c2s").string(), no_filter());
  EXPECT_EQ(r.cells, 4);
  SentenceStore s((dir / "a.c2s").string());
  EXPECT_EQ(s.genes(), (std::vector<std::string>{"CD3E", "MS4A1", "NKG7", "ACTB", "ACTB-1"}));
  EXPECT_EQ(s.header().source_genes[4], "ACTB-1");
  EXPECT_EQ(s.header().gene_n_cells, (std::vector<std::int64_t>{2, 3, 3, 3, 3}));
  EXPECT_EQ(s.n_entries(), 14);
  EXPECT_EQ(s.sentence(0, 2), "CD3E ACTB-1");
  EXPECT_EQ(s.sentence(3), "NKG7 ACTB-1");
  std::string tied = s.sentence(1);  // MS4A1 and NKG7 tie at 3, then ACTB
  EXPECT_TRUE(tied == "MS4A1 NKG7 ACTB" || tied == "NKG7 MS4A1 ACTB") << tied;
  EXPECT_EQ(s.cell_names()[2], "cell2");
  const Column* type = s.obs().find("cell_type");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->text(0), "T");
  EXPECT_EQ(type->text(2), "");
  ASSERT_TRUE(s.obs().find("total_counts"));
  EXPECT_DOUBLE_EQ(s.obs().find("total_counts")->numbers[3], 11);
  ASSERT_TRUE(s.inverse_model().has_value());
  EXPECT_EQ(s.inverse_model()->points, 14);
  EXPECT_EQ(s.provenance()["seed"], 42);
  CellBlock b;
  s.read_cells({3, 0}, b);
  EXPECT_EQ(b.names, (std::vector<std::string>{"cell3", "cell0"}));
  EXPECT_EQ(b.offsets, (std::vector<std::int64_t>{0, 2, 6}));
  // Values are normalised (target = median of totals 9, 7, 5, 11 = 8), non-increasing.
  EXPECT_NEAR(b.values_of(0)[0], std::log10(1 + 9 * 8.0 / 11), 1e-6);
  EXPECT_EQ(b.values_of(1).size(), 4u);
  EXPECT_THROW(s.read(3, 5, b), Error);
}

TEST(SentenceStore, SameResultForAnyThreadCount) {
  auto dir = temp_dir("threads");
  std::vector<std::vector<float>> rows;
  for (int c = 0; c < 700; ++c) {
    std::vector<float> r(60);
    for (int g = 0; g < 60; ++g) r[std::size_t(g)] = float((c * 7 + g * 13) % 5);  // many ties
    rows.push_back(r);
  }
  std::vector<std::string> genes;
  for (int g = 0; g < 60; ++g) genes.push_back("G" + std::to_string(g));
  std::vector<std::string> sentences[2];
  for (int t : {1, 2}) {
    ThreadPool::set_default_threads(std::size_t(t));
    DenseTestMatrix m(rows, genes);
    ConvertOptions o = no_filter();
    o.preprocess.block_rows = 100;
    convert_to_store(m, (dir / "t.c2s").string(), o);
    SentenceStore s((dir / "t.c2s").string());
    for (std::int64_t i = 0; i < s.n_cells(); ++i) sentences[t - 1].push_back(s.sentence(i));
  }
  ThreadPool::set_default_threads(0);
  EXPECT_EQ(sentences[0], sentences[1]);
}

TEST(SentenceStore, ExportJsonlAndText) {
  auto dir = temp_dir("export");
  auto m = matrix();
  convert_to_store(m, (dir / "a.c2s").string(), no_filter());
  SentenceStore s((dir / "a.c2s").string());
  ExportOptions o;
  o.top_k = 1;
  o.columns = {"cell_type"};
  EXPECT_EQ(export_sentences(s, (dir / "a.jsonl").string(), o), 4);
  std::ifstream in(dir / "a.jsonl");
  std::string line;
  std::getline(in, line);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["cell_name"], "cell0");
  EXPECT_EQ(j["cell_sentence"], "CD3E");
  EXPECT_EQ(j["cell_type"], "T");
  std::getline(in, line);
  std::getline(in, line);
  EXPECT_TRUE(nlohmann::json::parse(line)["cell_type"].is_null());
  o.format = ExportOptions::Format::Text;
  o.top_k = 0;
  export_sentences(s, (dir / "a.txt").string(), o);
  std::ifstream txt(dir / "a.txt");
  std::getline(txt, line);
  EXPECT_EQ(line, s.sentence(0));
  o.columns = {"nope"};
  EXPECT_THROW(export_sentences(s, (dir / "b.txt").string(), o), Error);
  EXPECT_FALSE(fs::exists(dir / "b.txt"));
}

TEST(SentenceStore, SplitKeepsGroupsWhole) {
  auto dir = temp_dir("split");
  std::vector<std::vector<float>> rows;
  DataFrame obs;
  for (int c = 0; c < 300; ++c) rows.push_back({float(c % 3 + 1), 1, 2});
  DenseTestMatrix m(rows, {"A", "B", "C"});
  Column donor{.name = "donor", .kind = Column::Kind::String};
  for (int c = 0; c < 300; ++c) donor.strings.push_back("d" + std::to_string(c % 10));
  m.mutable_obs().columns = {donor};
  const std::string path = (dir / "s.c2s").string();
  convert_to_store(m, path, no_filter());
  SentenceStore s(path);
  SplitOptions o;
  Column by_cells = assign_splits(s, o);
  std::vector<int> counts(3, 0);
  for (auto c : by_cells.codes) ++counts[std::size_t(c)];
  EXPECT_EQ(counts, (std::vector<int>{240, 30, 30}));
  o.by = "donor";
  Column by_donor = assign_splits(s, o);
  std::map<std::string, std::set<int>> where;
  for (std::size_t i = 0; i < 300; ++i) where[donor.strings[i]].insert(by_donor.codes[i]);
  std::set<int> used;
  for (auto& [d, splits] : where) {
    EXPECT_EQ(splits.size(), 1u) << d;
    used.insert(*splits.begin());
  }
  EXPECT_EQ(used.size(), 3u);
  set_store_obs_column(path, by_donor);
  SentenceStore again(path);
  EXPECT_EQ(again.obs().find("split")->codes, by_donor.codes);
  o.fractions = {0.5, 0.6, 0.1};
  EXPECT_THROW(assign_splits(s, o), Error);
}

TEST(SentenceStore, MergeUnitesVocabularies) {
  auto dir = temp_dir("merge");
  DenseTestMatrix a({{1, 2}, {3, 0}}, {"A", "B"}), b({{0, 5, 1}}, {"C", "B", "D"});
  convert_to_store(a, (dir / "a.c2s").string(), no_filter());
  convert_to_store(b, (dir / "b.c2s").string(), no_filter());
  merge_stores({(dir / "a.c2s").string(), (dir / "b.c2s").string()}, (dir / "m.c2s").string(), {});
  SentenceStore m((dir / "m.c2s").string());
  // C is expressed in no cell of b, so filter_genes dropped it there.
  EXPECT_EQ(m.genes(), (std::vector<std::string>{"A", "B", "D"}));
  EXPECT_EQ(m.header().gene_n_cells, (std::vector<std::int64_t>{2, 2, 1}));
  EXPECT_EQ(m.n_cells(), 3);
  EXPECT_EQ(m.sentence(2), "B D");
  EXPECT_EQ(m.obs().find("batch")->text(2), "b");
  EXPECT_EQ(m.obs().find("batch")->text(0), "a");
}

TEST(SentenceStore, ReconstructionParsesLikeTheReference) {
  SentenceParser parser({"A", "B", "C", "D"});
  // Reference post-processing: "x" holds its place while A (positions 0 and
  // 3) is removed, giving [x B C], and re-inserted at int(mean) = 1, giving
  // [x A B C]; then x is dropped.
  ParsedSentence p = parser.parse("a x B A c.");
  EXPECT_EQ(p.words, 5);
  EXPECT_EQ(p.unknown, 1);
  EXPECT_EQ(p.duplicates, 1);
  EXPECT_EQ(p.genes, (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(parser.parse("D x x C D D").genes, (std::vector<std::uint32_t>{2, 3}));
}

TEST(SentenceStore, ReconstructStoreToH5ad) {
  auto dir = temp_dir("reconstruct");
  auto m = matrix();
  convert_to_store(m, (dir / "a.c2s").string(), no_filter());
  SentenceStore s((dir / "a.c2s").string());
  reconstruct_store(s, (dir / "r.h5ad").string(), {});
  AnnDataReader r((dir / "r.h5ad").string());
  EXPECT_EQ(r.n_rows(), 4);
  EXPECT_EQ(r.n_cols(), 5);
  EXPECT_EQ(r.var().index, s.genes());
  SparseRows rows;
  r.read_rows(3, 4, rows);
  ASSERT_EQ(rows.nnz(), 2);
  const InverseModel& model = *s.inverse_model();
  // NKG7 (index 2) is the top gene of cell 3.
  testing_support::FlatEntries flat = testing_support::flat_entries(rows);
  for (std::size_t e = 0; e < 2; ++e)
    if (flat.indices[e] == 2) EXPECT_NEAR(flat.values[e], model.predict(0), 1e-5);
}

}  // namespace c2s
