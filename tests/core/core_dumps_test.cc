// A crash must not write the process's secrets to disk: after the call the
// process has no core limit and is not dumpable, unless a developer asked
// to keep dumps.
#include "core/core_dumps.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace bulwark {
namespace {

TEST(CoreDumpsTest, OffAfterTheCall) {
  unsetenv("BULWARK_CORE_DUMPS");
  ASSERT_TRUE(KeepSecretsOutOfCoreDumps());
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, 0u);
  EXPECT_EQ(limit.rlim_max, 0u);  // nor can the process raise it again
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

// Whatever the process was before (another test of this binary may have
// turned dumps off, when the tests share one process), the call leaves it so.
TEST(CoreDumpsTest, KeptWhenAsked) {
  setenv("BULWARK_CORE_DUMPS", "1", 1);
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &before), 0);
  const int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  EXPECT_FALSE(KeepSecretsOutOfCoreDumps());
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur);
  EXPECT_EQ(after.rlim_max, before.rlim_max);
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), dumpable);
  unsetenv("BULWARK_CORE_DUMPS");
}

}  // namespace
}  // namespace bulwark
