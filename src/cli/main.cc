// bulwark: the command-line entry point.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "core/core_dumps.h"

namespace bulwark::cli {

bool ReadFileOrComplain(const std::string& path, std::string& out) {
  std::istream* in = &std::cin;
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      std::cerr << "error: cannot read " << path << "\n";
      return false;
    }
    in = &file;
  }
  std::stringstream ss;
  ss << in->rdbuf();
  out = ss.str();
  return true;
}

}  // namespace bulwark::cli

int main(int argc, char** argv) {
  // Before any secret is read: a crash of any command writes none to disk.
  bulwark::KeepSecretsOutOfCoreDumps();
  using namespace bulwark::cli;
  CLI::App app{
      "Bulwark: authentication, authorization, encryption, rate limits and audit for a fleet of "
      "services"};
  app.require_subcommand(1);
  int exit_code = kExitOk;

  auto* version = app.add_subcommand("version", "Print the version");
  version->callback([] { std::cout << "bulwark " << BULWARK_VERSION << "\n"; });

  RegisterKeysCommands(app, exit_code);
  RegisterJwtCommands(app, exit_code);
  RegisterServeCommand(app, exit_code);
  RegisterDemoUpstreamCommand(app, exit_code);
  RegisterPolicyCommands(app, exit_code);
  RegisterRelationsCommands(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}
