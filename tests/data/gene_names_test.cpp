// Gene-name rules: anndata's make-unique, upper-casing, barcode detection.
#include "data/gene_names.hpp"
#include "io/data_frame.hpp"

#include <gtest/gtest.h>

namespace c2s {

TEST(GeneNames, MakeUniqueAsAnndata) {
  // anndata.utils.make_index_unique(pd.Index(["a","a","b","a","a-1"]))
  //   -> ['a', 'a-2', 'b', 'a-3', 'a-1']
  std::vector<std::string> names{"a", "a", "b", "a", "a-1"};
  EXPECT_EQ(make_index_unique(names), 2u);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "a-2", "b", "a-3", "a-1"}));
}

TEST(GeneNames, UpperCase) { EXPECT_EQ(upper_case("Cd3e-as1"), "CD3E-AS1"); }

TEST(GeneNames, Barcodes) {
  EXPECT_TRUE(look_like_barcodes({"AAACCTGAGAAGGCCT-1", "AAACCTGAGACAGACC-1", "TTTGTCATCTGCGTAA"}));
  EXPECT_FALSE(look_like_barcodes({"CD3E", "MS4A1", "ACTB"}));
}

}  // namespace c2s
