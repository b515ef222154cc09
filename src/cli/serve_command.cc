// bulwark serve --config FILE: runs Bulwark until SIGTERM or SIGINT, then
// drains gracefully.
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/log.h"
#include "server/server.h"
#include "server/server_config.h"

namespace bulwark::cli {

namespace {

// Each proxied request holds two descriptors (the client's connection and
// the service's), so the soft limit many systems start a process with
// (1024) runs out long before the connection cap. As Go's runtime does,
// the soft limit is raised to the hard one; what is granted is logged.
void RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t was = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) limit.rlim_cur = was;
  }
  log::Info("server.open_files_limit",
            {{"limit", static_cast<int64_t>(limit.rlim_cur)}, {"was", static_cast<int64_t>(was)}});
}

int Serve(const std::string& config_file) {
  Result<server::ServerConfig> config = server::LoadServerConfig(config_file);
  if (!config) {
    std::cerr << "error: " << config.error().message() << "\n";
    return kExitUsage;
  }
  log::SetLevel(config->log_level);

  // Block the signals handled here before any thread starts, so every
  // thread inherits the mask and only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int handled : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&signals, handled);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RaiseOpenFilesLimit();
  Result<std::unique_ptr<server::Server>> running = server::Server::Start(*config);
  if (!running) {
    log::Error("server.start_failed", {{"error", running.error().ToString()}});
    std::cerr << "error: " << running.error().message() << "\n";
    // A setting found wrong only as the parts start (a jwks_uri in plain
    // http to another host, a listen address that is not this host's, a
    // file it names that is not there) is the config's fault, as
    // docs/cli.md says: 2. What the machine refuses now (a port in use, a
    // store file held) is 1.
    const StatusCode code = running.error().code();
    return code == StatusCode::kInvalidArgument || code == StatusCode::kNotFound ? kExitUsage
                                                                                 : kExitInvalid;
  }
  for (;;) {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number == SIGTERM || signal_number == SIGINT) {
      log::Info("server.signal", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    // SIGHUP (logrotate's postrotate) and SIGUSR1 (as nginx takes it) open
    // the audit file anew after a rotation; SIGUSR2 is ignored. None of
    // them ends the process, as their default action would.
    const char* name = signal_number == SIGHUP    ? "SIGHUP"
                       : signal_number == SIGUSR1 ? "SIGUSR1"
                                                  : "SIGUSR2";
    if (signal_number == SIGUSR2 || !(*running)->has_audit_file()) {
      log::Info("server.signal_ignored", {{"signal", name}});
      continue;
    }
    const Status reopened = (*running)->ReopenAuditFile();
    if (reopened.ok()) {
      log::Info("audit.reopened", {{"signal", name}});
    } else {
      log::Error("audit.reopen_failed",
                 {{"error", reopened.message()}, {"kept", "the file it had"}});
    }
  }
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
