// The `bulwark` subcommands. Each Register* function adds its subcommands to
// the CLI11 app; the callbacks set the process exit code through `exit_code`.
//
// Exit codes of the verify commands: 0 valid, 1 invalid (reason on stderr),
// 2 usage error (bad arguments, unreadable files).
#ifndef BULWARK_CLI_COMMANDS_H_
#define BULWARK_CLI_COMMANDS_H_

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "policy/test_report.h"

namespace CLI {
class App;
}

namespace bulwark::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInvalid = 1;
inline constexpr int kExitUsage = 2;

void RegisterKeysCommands(CLI::App& app, int& exit_code);
void RegisterJwtCommands(CLI::App& app, int& exit_code);
void RegisterServeCommand(CLI::App& app, int& exit_code);
void RegisterDemoUpstreamCommand(CLI::App& app, int& exit_code);
void RegisterPolicyCommands(CLI::App& app, int& exit_code);
void RegisterRelationsCommands(CLI::App& app, int& exit_code);

// Runs `run` on each file, prints each failure and then "N passed, M failed"
// (a file that cannot be run counts as one failure, printed as "error: ...").
// Returns the exit code: kExitOk if none failed, else kExitInvalid.
int RunTestFiles(const std::vector<std::string>& files,
                 const std::function<Result<policy::TestReport>(const std::string&)>& run);

// Reads a whole file; false (and a message on stderr) if it cannot.
bool ReadFileOrComplain(const std::string& path, std::string& out);

}  // namespace bulwark::cli

#endif  // BULWARK_CLI_COMMANDS_H_
