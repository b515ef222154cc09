// Active health checks against real listeners: a Bulwark HTTP server whose
// answer the test sets, and a socket that takes connections and never
// answers (the shape of a hung service).
#include "gateway/health_checker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "net/http_server.h"

namespace bulwark::gateway {
namespace {

using namespace std::chrono_literals;

// A service whose /healthz answers with the status set last.
class Service {
 public:
  Service() {
    net::HttpServerOptions options;
    options.threads = 1;
    auto server = net::HttpServer::Start(options, [this](const net::HttpRequest& request) {
      if (request.target != "/healthz") return net::HttpResponse{.status = 404};
      return net::HttpResponse{.status = status_.load()};
    });
    EXPECT_TRUE(server.has_value());
    if (server) server_ = std::move(*server);
  }
  void Answer(int status) { status_.store(status); }
  uint16_t port() const { return server_->port(); }

 private:
  std::atomic<int> status_{200};
  std::unique_ptr<net::HttpServer> server_;
};

// A listener nobody accepts on: connections complete (the kernel's
// backlog) and no answer ever comes.
class Hung {
 public:
  Hung() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
  }
  ~Hung() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

HealthChecker::Target TargetAt(uint16_t port, HealthCheckOptions options) {
  const std::string authority = "127.0.0.1:" + std::to_string(port);
  return {.name = "orders",
          .endpoint = authority,
          .url = "http://" + authority + options.path,
          .fetch = {.timeout = options.timeout, .allow_plain_http = true},
          .options = options};
}

// Polls `healthy` until it is `want` or `within` has passed.
template <typename F>
bool Becomes(F healthy, bool want, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (healthy() == want) return true;
    std::this_thread::sleep_for(5ms);
  }
  return healthy() == want;
}

TEST(HealthCheckerTest, FailingChecksTakeAnEndpointOutAndPassingOnesBringItBack) {
  Service service;
  metrics::MetricsRegistry registry;
  HealthChecker checker(
      {TargetAt(
          service.port(),
          {.interval = 20ms, .timeout = 500ms, .unhealthy_threshold = 2, .healthy_threshold = 2})},
      &registry);
  EXPECT_TRUE(checker.Healthy(0)) << "endpoints start healthy";
  service.Answer(503);
  ASSERT_TRUE(Becomes([&] { return checker.Healthy(0); }, false, 3s));
  EXPECT_NE(registry.RenderPrometheusText().find(
                "bulwark_gateway_upstream_healthy{upstream=\"orders\",endpoint=\"127.0.0.1:" +
                std::to_string(service.port()) + "\"} 0"),
            std::string::npos);
  service.Answer(200);
  ASSERT_TRUE(Becomes([&] { return checker.Healthy(0); }, true, 3s));
}

// An endpoint that hangs to its check's timeout holds up no other: the one
// that fails is out long before the hung one's first check has timed out.
TEST(HealthCheckerTest, AHungEndpointDelaysNoOtherEndpointsChecks) {
  Hung hung;
  Service failing;
  failing.Answer(500);
  const auto start = std::chrono::steady_clock::now();
  HealthChecker checker(
      {TargetAt(hung.port(), {.interval = 20ms, .timeout = 2s, .unhealthy_threshold = 1}),
       TargetAt(failing.port(), {.interval = 20ms, .timeout = 500ms, .unhealthy_threshold = 3})},
      nullptr);
  ASSERT_TRUE(Becomes([&] { return checker.Healthy(1); }, false, 1500ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_TRUE(checker.Healthy(0)) << "the hung one's check has not timed out yet";
  EXPECT_TRUE(Becomes([&] { return checker.Healthy(0); }, false, 3s)) << "then it is out too";
}

// Endpoints come and go while it runs (a name's addresses changing): one
// added is checked at once, one removed no more.
TEST(HealthCheckerTest, EndpointsAddedAreCheckedAndRemovedOnesAreNot) {
  Service service;
  HealthChecker checker({}, nullptr);
  service.Answer(503);
  std::shared_ptr<const HealthChecker::Check> check = checker.Add(
      TargetAt(service.port(), {.interval = 20ms, .timeout = 500ms, .unhealthy_threshold = 1}));
  EXPECT_TRUE(check->healthy()) << "endpoints start healthy";
  ASSERT_TRUE(Becomes([&] { return check->healthy(); }, false, 3s));
  checker.Remove(check.get());
  service.Answer(200);
  std::this_thread::sleep_for(200ms);  // ten intervals
  EXPECT_FALSE(check->healthy()) << "a removed endpoint is not checked again";
}

TEST(HealthCheckerTest, ARemovedEndpointsGaugeLeavesMetricsUnlessAnotherHasItsLabels) {
  Service service;
  metrics::MetricsRegistry registry;
  HealthChecker checker({}, &registry);
  const HealthCheckOptions options{.interval = 1h};
  const std::string series =
      "bulwark_gateway_upstream_healthy{upstream=\"orders\",endpoint=\"127.0.0.1:" +
      std::to_string(service.port()) + "\"} 1\n";
  std::shared_ptr<const HealthChecker::Check> first =
      checker.Add(TargetAt(service.port(), options));
  std::shared_ptr<const HealthChecker::Check> second =
      checker.Add(TargetAt(service.port(), options));
  checker.Remove(first.get());
  EXPECT_NE(registry.RenderPrometheusText().find(series), std::string::npos)
      << "another endpoint checked has the labels";
  checker.Remove(second.get());
  checker.Remove(second.get());  // twice: nothing more happens
  EXPECT_EQ(registry.RenderPrometheusText().find("bulwark_gateway_upstream_healthy{"),
            std::string::npos);
  std::shared_ptr<const HealthChecker::Check> again =
      checker.Add(TargetAt(service.port(), options));
  EXPECT_NE(registry.RenderPrometheusText().find(series), std::string::npos);
}

}  // namespace
}  // namespace bulwark::gateway
