// Runs the Cedar integration tests of the shared test data: for every
// request, the decision, the determining policies and the erroring policies
// must equal the expected ones.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "policy/cedar_test_file.h"

namespace bulwark::policy::cedar {
namespace {

namespace fs = std::filesystem;

std::string Root() {
  const char* env = std::getenv("BULWARK_TESTDATA");
  return std::string(env != nullptr ? env : BULWARK_TESTDATA_DIR) + "/cedar";
}

TEST(CedarTestDataTest, EveryRequestDecidesAsExpected) {
  int passed = 0, files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(Root() + "/tests")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    auto report = RunCedarTestFile(entry.path().string(), Root());
    ASSERT_TRUE(report.has_value()) << report.error().message();
    for (const std::string& failure : report->failures) ADD_FAILURE() << failure;
    passed += report->passed;
  }
  EXPECT_GT(files, 20);
  EXPECT_GT(passed, 70);
}

TEST(CedarTestDataTest, UnreadableFilesAreErrorsNotPasses) {
  EXPECT_FALSE(RunCedarTestFile(Root() + "/no-such.json", Root()).has_value());
  EXPECT_FALSE(RunCedarTestFile(Root() + "/README.md", Root()).has_value());
}

}  // namespace
}  // namespace bulwark::policy::cedar
