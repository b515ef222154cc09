// The outcome of running a test file of policies or relationships
// (`bulwark policy test`, `bulwark relations test`).
#ifndef BULWARK_POLICY_TEST_REPORT_H_
#define BULWARK_POLICY_TEST_REPORT_H_

#include <string>
#include <vector>

namespace bulwark::policy {

struct TestReport {
  int passed = 0;
  int failed = 0;
  // One line per failing request or assertion: what was asked, expected, got.
  std::vector<std::string> failures;
};

}  // namespace bulwark::policy

#endif  // BULWARK_POLICY_TEST_REPORT_H_
