// Runs test files in the format of the Cedar integration tests: a JSON
// object naming a policy file, an entities file and a schema file (paths
// relative to a root folder), and `requests`, each with principal, action,
// resource, context and the expected decision, determining policies
// (`reason`) and erroring policies (`errors`). An optional `templateLinks`
// array ({templateId, newId, values: {"?principal": uid, "?resource": uid}},
// as the Cedar SDKs take them) links templates of the policy file. With a
// `schema`, the validator must agree with `shouldValidate` (a disagreement
// counts as one failure), and when it is true the entities and every request
// must fit the schema.
#ifndef BULWARK_POLICY_CEDAR_TEST_FILE_H_
#define BULWARK_POLICY_CEDAR_TEST_FILE_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "policy/test_report.h"

namespace bulwark::policy::cedar {

// Loads `file` and decides each of its requests. kInvalidArgument (naming
// the file) if it, or a policy or entities file it names, cannot be read or
// parsed; no request counts then.
Result<TestReport> RunCedarTestFile(const std::string& file, const std::string& root);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_TEST_FILE_H_
