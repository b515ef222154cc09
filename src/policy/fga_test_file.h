// Runs relationship test files in the format of OpenFGA's test suites: a
// YAML document with `tests`, each a name and `stages`; a stage may set the
// `model` (DSL, or `model_file`: a path relative to the test file), add `tuples` (they accumulate
// across stages, each with an optional condition {name, context}), and make `checkAssertions`,
// `listObjectsAssertions` and `listUsersAssertions`, each with an
// `expectation` or an `errorCode`, optional `contextualTuples` and
// `context`. An assertion that expects an error passes when the query is
// refused.
#ifndef BULWARK_POLICY_FGA_TEST_FILE_H_
#define BULWARK_POLICY_FGA_TEST_FILE_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "policy/test_report.h"

namespace bulwark::policy::fga {

enum class TupleMode {
  kWritten,     // stage tuples go in the index
  kContextual,  // stage tuples are given as contextual tuples of each query
};

// Runs every assertion of the file's text; `name` is the file's path (for
// messages and to find model files). kInvalidArgument naming it if it is not
// such a file (bad YAML, a model that does not parse, a malformed tuple); no
// assertion counts then.
Result<TestReport> RunRelationTests(const std::string& text, const std::string& name,
                                    TupleMode mode);

}  // namespace bulwark::policy::fga

#endif  // BULWARK_POLICY_FGA_TEST_FILE_H_
