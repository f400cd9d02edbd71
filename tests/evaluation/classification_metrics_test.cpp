// Classification scores on hand-checked cases and against scikit-learn;
// the "other" column for answers that name no class; the files written.
#include "evaluation/classification_metrics.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "core/json_file.hpp"
#include "evaluation_test_support.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;
using testing_support::ScratchDir;
using testing_support::slurp;

const std::vector<std::string> kLabels{"B", "T", "NK"};
// truth:     B B B T T T T NK NK
// predicted: B B T T T T B NK "a monocyte"
const std::vector<std::string> kTruth{"B", "B", "B", "T", "T", "T", "T", "NK", "NK"};
const std::vector<std::string> kPredicted{"B", "B", "T", "T", "T", "T", "B", "NK", "a monocyte"};

TEST(ClassificationMetrics, HandCheckedScoresWithAnOtherColumn) {
  const ClassificationReport r = classification_report(kTruth, kPredicted, kLabels);
  EXPECT_TRUE(r.has_other);
  ASSERT_EQ(r.columns(), 4u);
  EXPECT_EQ(r.column_labels(), (std::vector<std::string>{"B", "T", "NK", "other"}));
  EXPECT_EQ(r.confusion, (std::vector<std::int64_t>{2, 1, 0, 0,  //
                                                    1, 3, 0, 0,  //
                                                    0, 0, 1, 1}));
  EXPECT_EQ(r.cells, 9);
  EXPECT_EQ(r.correct, 6);
  EXPECT_EQ(r.other_predictions, 1);
  EXPECT_DOUBLE_EQ(r.accuracy, 6.0 / 9);
  EXPECT_EQ(r.support, (std::vector<std::int64_t>{3, 4, 2}));
  EXPECT_DOUBLE_EQ(r.precision[0], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.recall[0], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.precision[1], 3.0 / 4);
  EXPECT_DOUBLE_EQ(r.recall[1], 3.0 / 4);
  EXPECT_DOUBLE_EQ(r.precision[2], 1.0);  // the free-text answer is not an NK prediction
  EXPECT_DOUBLE_EQ(r.recall[2], 0.5);
  EXPECT_DOUBLE_EQ(r.f1[2], 2 * 1.0 * 0.5 / 1.5);
  EXPECT_DOUBLE_EQ(r.macro_f1, (2.0 / 3 + 3.0 / 4 + 2.0 / 3) / 3);
}

TEST(ClassificationMetrics, AgreesWithScikitLearn) {
  ScratchDir dir;
  // 200 cells over 5 classes, one class absent from the truth, one never
  // predicted, a few free-text answers.
  const std::vector<std::string> labels{"CD4 T", "CD8 T", "B", "NK", "Mono"};
  std::vector<std::string> truth, predicted;
  Rng rng(3);
  for (int i = 0; i < 200; ++i) {
    const std::size_t t = rng.below(4);  // never "Mono"
    truth.push_back(labels[t]);
    const std::uint64_t u = rng.below(10);
    predicted.push_back(u < 6 ? labels[t] : u < 9 ? labels[rng.below(4) == 3 ? 4 : rng.below(3)] : "unsure");
  }
  const ClassificationReport r = classification_report(truth, predicted, labels);
  const std::string in = dir.file("metrics_in.json");
  write_json_file(in, nlohmann::json{{"truth", truth}, {"predicted", predicted}, {"labels", labels}});
  const nlohmann::json ref = testing_support::sklearn_reference(dir, "metrics", {in});
  EXPECT_NEAR(r.accuracy, ref["accuracy"].get<double>(), 1e-12);
  EXPECT_NEAR(r.macro_f1, ref["macro_f1"].get<double>(), 1e-12);
  for (std::size_t c = 0; c < labels.size(); ++c) {
    EXPECT_NEAR(r.precision[c], ref["precision"][c].get<double>(), 1e-12) << labels[c];
    EXPECT_NEAR(r.recall[c], ref["recall"][c].get<double>(), 1e-12) << labels[c];
    EXPECT_NEAR(r.f1[c], ref["f1"][c].get<double>(), 1e-12) << labels[c];
    EXPECT_EQ(r.support[c], ref["support"][c].get<std::int64_t>()) << labels[c];
    for (std::size_t p = 0; p < labels.size(); ++p)
      EXPECT_EQ(r.count(c, p), ref["confusion"][c][p].get<std::int64_t>());
  }
}

TEST(ClassificationMetrics, NoOtherColumnWhenEveryAnswerIsAClass) {
  const ClassificationReport r = classification_report({"a", "b"}, {"b", "b"}, {"a", "b", "c"});
  EXPECT_FALSE(r.has_other);
  EXPECT_EQ(r.columns(), 3u);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  // Over the true classes a and b only: F1 0 and 2/3.
  EXPECT_DOUBLE_EQ(r.macro_f1, (0 + 2.0 / 3) / 2);
}

TEST(ClassificationMetrics, AClassCalledOtherKeepsItsName) {
  const ClassificationReport r = classification_report({"other", "x"}, {"???", "x"}, {"x", "other"});
  EXPECT_EQ(r.column_labels(), (std::vector<std::string>{"x", "other", "(other)"}));
}

TEST(ClassificationMetrics, FilesHoldTheCountsScoresAndFractions) {
  ScratchDir dir;
  const ClassificationReport r = classification_report(kTruth, kPredicted, kLabels);
  write_confusion_csv(r, dir.file("confusion.csv"));
  EXPECT_EQ(slurp(dir.file("confusion.csv")), "truth,B,T,NK,other\nB,2,1,0,0\nT,1,3,0,0\nNK,0,0,1,1\n");
  write_per_class_csv(r, dir.file("per_class.csv"));
  EXPECT_EQ(slurp(dir.file("per_class.csv")),
            "label,precision,recall,f1,support\nB,0.666667,0.666667,0.666667,3\nT,0.75,0.75,0.75,4\n"
            "NK,1,0.5,0.666667,2\n");
  write_confusion_png(r, dir.file("confusion.png"), "test");
  const std::string png = slurp(dir.file("confusion.png"));
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const nlohmann::ordered_json j = classification_json(r);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 6.0 / 9);
  EXPECT_EQ(j["other_predictions"], 1);
  EXPECT_EQ(j["per_class"]["T"]["support"], 4);
  EXPECT_EQ(dir.entries(), 3u);  // no temporaries left
}

TEST(ClassificationMetrics, LabelsWithCommasAreQuoted) {
  ScratchDir dir;
  const ClassificationReport r = classification_report({"T cell, CD4", "B \"naive\""}, {"T cell, CD4", "x"},
                                                       {"T cell, CD4", "B \"naive\""});
  write_per_class_csv(r, dir.file("p.csv"));
  EXPECT_EQ(slurp(dir.file("p.csv")),
            "label,precision,recall,f1,support\n\"T cell, CD4\",1,1,1,1\n\"B \"\"naive\"\"\",0,0,0,1\n");
}

TEST(ClassificationMetrics, BadInputIsAnError) {
  expect_error([] { classification_report({"a"}, {"a", "b"}, {"a"}); }, "1 true labels for 2 predictions");
  expect_error([] { classification_report({}, {}, {"a"}); }, "no cells");
  expect_error([] { classification_report({"z"}, {"a"}, {"a"}); }, "true label 'z'");
  expect_error([] { classification_report({"a"}, {"a"}, {"a", "a"}); }, "given twice");
  ScratchDir dir;
  const ClassificationReport r = classification_report({"a"}, {"a"}, {"a"});
  expect_error([&] { write_confusion_csv(r, dir.file("no/such/folder/c.csv")); }, "does not exist");
}

}  // namespace
}  // namespace c2s
