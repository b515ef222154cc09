// bulwark demo-upstream --listen HOST:PORT: a small service for the
// quickstart that answers every request with what it received from the
// gateway (method, path, identity headers, the names of any credential
// fields), so the effect of each rule can
// be seen with curl. Not for production use.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/log.h"
#include "net/http_server.h"
#include "server/server_config.h"

namespace bulwark::cli {

namespace {

void AppendJsonField(std::string& out, std::string_view key, std::string_view value) {
  if (out.size() > 1) out += ',';
  log::AppendJsonString(out, key);
  out += ':';
  log::AppendJsonString(out, value);
}

net::HttpResponse Echo(const net::HttpRequest& request) {
  std::string body = "{";
  AppendJsonField(body, "service", "demo-upstream");
  AppendJsonField(body, "method", request.method);
  AppendJsonField(body, "path", request.target);
  for (std::string_view name : {"X-Bulwark-Subject", "X-Bulwark-Issuer", "X-Bulwark-Scopes",
                                "X-Bulwark-Roles", "X-Bulwark-Credential", "X-Bulwark-Spiffe-Id"}) {
    AppendJsonField(body, name, request.Header(name).value_or(""));
  }
  // Which credential fields came through, by name only: the gateway keeps
  // those it verified (docs/gateway.md), and a demo never echoes a secret.
  std::string credentials;
  for (std::string_view name : {"Authorization", "X-Api-Key"}) {
    if (!request.Header(name)) continue;
    if (!credentials.empty()) credentials += ' ';
    credentials += name;
  }
  AppendJsonField(body, "credentials_received", credentials);
  body += "}\n";
  return {.status = 200, .headers = {{"Content-Type", "application/json"}}, .body = body};
}

int RunDemoUpstream(const std::string& listen) {
  net::HttpServerOptions options;
  Status parsed = ParseHostPort(listen, &options.host, &options.port);
  if (!parsed.ok()) {
    std::cerr << "error: --listen: " << parsed.message() << "\n";
    return kExitUsage;
  }
  options.threads = 1;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto server = net::HttpServer::Start(options, Echo);
  if (!server) {
    std::cerr << "error: " << server.error().message() << "\n";
    return kExitInvalid;
  }
  log::Info("demo_upstream.listening", {{"host", options.host}, {"port", (*server)->port()}});
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  (*server)->Stop(std::chrono::seconds(1));
  return kExitOk;
}

}  // namespace

void RegisterDemoUpstreamCommand(CLI::App& app, int& exit_code) {
  auto* demo = app.add_subcommand(
      "demo-upstream", "Run the quickstart's demo service (echoes what the gateway forwards)");
  auto listen = std::make_shared<std::string>("127.0.0.1:8081");
  demo->add_option("--listen", *listen, "host:port to listen on (default 127.0.0.1:8081)");
  demo->callback([listen, &exit_code] { exit_code = RunDemoUpstream(*listen); });
}

}  // namespace bulwark::cli
