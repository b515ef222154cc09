// bulwark serve --config FILE: runs Bulwark until SIGTERM or SIGINT, then
// drains gracefully.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/log.h"
#include "server/server.h"
#include "server/server_config.h"

namespace bulwark::cli {

namespace {

int Serve(const std::string& config_file) {
  Result<server::ServerConfig> config = server::LoadServerConfig(config_file);
  if (!config) {
    std::cerr << "error: " << config.error().message() << "\n";
    return kExitUsage;
  }
  log::SetLevel(config->log_level);

  // Block the shutdown signals before any thread starts, so every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Result<std::unique_ptr<server::Server>> running = server::Server::Start(*config);
  if (!running) {
    log::Error("server.start_failed", {{"error", running.error().ToString()}});
    std::cerr << "error: " << running.error().message() << "\n";
    // A setting found wrong only as the parts start (a jwks_uri in plain
    // http to another host, a listen address that is not this host's) is
    // the config's fault, as docs/cli.md says: 2. What the machine refuses
    // now (a port in use, a store file held) is 1.
    return running.error().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitInvalid;
  }
  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  log::Info("server.signal", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*running)->Stop();
  return kExitOk;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int& exit_code) {
  auto* serve = app.add_subcommand("serve", "Run Bulwark with a config file until SIGTERM/SIGINT");
  auto config_file = std::make_shared<std::string>();
  serve->add_option("--config", *config_file, "The YAML config file")->required();
  serve->callback([config_file, &exit_code] { exit_code = Serve(*config_file); });
}

}  // namespace bulwark::cli
