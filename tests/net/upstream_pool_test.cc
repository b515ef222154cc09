#include "net/upstream_pool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace bulwark::net {
namespace {

namespace asio = boost::asio;

// A service on a real socket that answers each request with 200 "ok" and
// keeps the connection open, or closes it after `answers_per_connection`
// answers without saying so (as a service whose keep-alive timer fired).
class Service {
 public:
  explicit Service(int answers_per_connection) : answers_per_connection_(answers_per_connection) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Service() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }

  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  // Waits until the service has closed a connection it was told to close.
  void AwaitClose() { closed_.get_future().wait(); }

 private:
  void Serve() {
    for (;;) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections_;
      for (int answered = 0; answered < answers_per_connection_; ++answered) {
        std::string head;
        char c;
        while (head.find("\r\n\r\n") == std::string::npos && ::read(fd, &c, 1) == 1) head += c;
        if (head.find("\r\n\r\n") == std::string::npos) break;
        constexpr std::string_view kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        if (::write(fd, kAnswer.data(), kAnswer.size()) != static_cast<ssize_t>(kAnswer.size())) {
          break;
        }
      }
      ::close(fd);
      if (!close_told_.exchange(true)) closed_.set_value();
    }
  }

  const int answers_per_connection_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_{0};
  std::atomic<bool> close_told_{false};
  std::promise<void> closed_;
};

class UpstreamPoolTest : public ::testing::Test {
 protected:
  Result<HttpResponse> Send(UpstreamPool& pool, std::string method, bool idempotent) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = "/a";
    request.headers = {{"Host", "service"}};
    std::optional<Result<HttpResponse>> out;
    asio::co_spawn(
        ioc_,
        [&]() -> asio::awaitable<void> { out.emplace(co_await pool.Send(request, idempotent)); },
        asio::detached);
    ioc_.restart();
    ioc_.run();
    return std::move(*out);
  }

  UpstreamPool Pool(const Service& service) {
    UpstreamOptions options;
    options.port = service.port();
    return UpstreamPool(
        ioc_.get_executor(), options,
        {asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), service.port())});
  }

  asio::io_context ioc_;
};

TEST_F(UpstreamPoolTest, KeepsAConnectionForTheNextRequest) {
  Service service(/*answers_per_connection=*/100);
  UpstreamPool pool = Pool(service);
  for (int i = 0; i < 3; ++i) {
    Result<HttpResponse> response = Send(pool, "GET", /*idempotent=*/true);
    ASSERT_TRUE(response.has_value()) << response.error().ToString();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "ok");
  }
  EXPECT_EQ(service.connections(), 1);
  EXPECT_EQ(pool.idle_connections(), 1u);
}

// The pooled connection was closed by the service after its first answer:
// an idempotent request that got nothing back on it is sent again on a new
// connection.
TEST_F(UpstreamPoolTest, RetriesAnIdempotentRequestOnceOnANewConnection) {
  Service service(/*answers_per_connection=*/1);
  UpstreamPool pool = Pool(service);
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  service.AwaitClose();
  Result<HttpResponse> response = Send(pool, "GET", /*idempotent=*/true);
  ASSERT_TRUE(response.has_value()) << response.error().ToString();
  EXPECT_EQ(response->body, "ok");
  EXPECT_EQ(service.connections(), 2);
}

// The same for a request that must not be repeated: the service may have
// acted on it, so it fails rather than being sent twice.
TEST_F(UpstreamPoolTest, DoesNotRetryARequestThatIsNotIdempotent) {
  Service service(/*answers_per_connection=*/1);
  UpstreamPool pool = Pool(service);
  ASSERT_TRUE(Send(pool, "GET", true).has_value());
  service.AwaitClose();
  Result<HttpResponse> response = Send(pool, "POST", /*idempotent=*/false);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code(), StatusCode::kUnavailable) << response.error().ToString();
  EXPECT_EQ(service.connections(), 1);
  EXPECT_EQ(pool.idle_connections(), 0u);
}

}  // namespace
}  // namespace bulwark::net
