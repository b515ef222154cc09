// TlsSocket's reads over real loopback TCP: a read of a socket the last
// read drained waits for it without a read that finds nothing, and a reset
// queued behind the last record ends the next read at once rather than
// leaving it to wait for a readiness that will not come.
#include "net/tls_socket.h"

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "net/io_outcome.h"
#include "net/reactor_receive.h"
#include "testing/test_pki.h"

namespace bulwark::net::internal {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using io_test::Bytes;
using io_test::kTimedOut;
using io_test::NewPending;
using io_test::Outcome;
using io_test::Pending;

class TlsSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::TestCa ca("tls socket test ca");
    const testing::IssuedCert cert =
        ca.Issue({.common_name = "localhost", .dns = {"localhost"}, .server = true});
    server_context_.use_certificate_chain(asio::buffer(cert.cert_pem));
    server_context_.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    client_context_.set_verify_mode(asio::ssl::verify_none);

    tcp::acceptor acceptor(ioc_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    tcp::socket client_end(ioc_);
    client_end.connect(acceptor.local_endpoint());
    server_.emplace(acceptor.accept(), server_context_, TlsSocket::Role::kServer);
    client_.emplace(std::move(client_end), client_context_, TlsSocket::Role::kClient);

    auto server_done = Spawn(Handshake(*server_));
    auto client_done = Spawn(Handshake(*client_));
    ASSERT_EQ(Await(server_done), Outcome());
    ASSERT_EQ(Await(client_done), Outcome());
  }

  // Coroutines of their own (not lambdas, whose captures would not outlive
  // the call that makes the coroutine).
  static asio::awaitable<Outcome> Handshake(TlsSocket& socket) {
    co_return Outcome(co_await socket.Handshake(), "");
  }
  static asio::awaitable<Outcome> Read(TlsSocket& socket) {
    std::string buffer(64, '\0');
    auto [ec, n] = co_await socket.ReadSome(asio::buffer(buffer));
    co_return Outcome(ec, buffer.substr(0, n));
  }
  static asio::awaitable<Outcome> Write(TlsSocket& socket, std::string bytes) {
    auto [ec, n] = co_await socket.Write(asio::buffer(bytes));
    co_return Outcome(ec, "");
  }

  Pending Spawn(asio::awaitable<Outcome> work) {
    Pending out = NewPending();
    asio::co_spawn(ioc_, std::move(work), [out](const std::exception_ptr&, Outcome outcome) {
      out->emplace(std::move(outcome));
    });
    return out;
  }

  // A read of up to 64 bytes on the server's end.
  Pending ServerRead() { return Spawn(Read(*server_)); }

  void ClientWrite(std::string bytes) {
    ASSERT_EQ(Await(Spawn(Write(*client_, std::move(bytes)))), Outcome());
  }

  Outcome Await(const Pending& out, std::chrono::milliseconds limit = 5s) {
    return io_test::Await(ioc_, out, limit);
  }

  asio::io_context ioc_;
  asio::ssl::context server_context_{asio::ssl::context::tls_server};
  asio::ssl::context client_context_{asio::ssl::context::tls_client};
  std::optional<TlsSocket> server_;
  std::optional<TlsSocket> client_;
};

TEST_F(TlsSocketTest, AReadOfADrainedSocketWaitsWithoutAReadThatFindsNothing) {
  const uint64_t found_nothing = WouldBlockReceivesForTesting();
  const Pending first = ServerRead();
  ClientWrite("abc");
  EXPECT_EQ(Await(first), Bytes("abc"));
  const Pending next = ServerRead();
  EXPECT_EQ(Await(next, 50ms), kTimedOut);
  ClientWrite("de");
  EXPECT_EQ(Await(next), Bytes("de"));
  EXPECT_EQ(WouldBlockReceivesForTesting(), found_nothing);
}

TEST_F(TlsSocketTest, AResetQueuedBehindTheLastRecordEndsTheNextReadAtOnce) {
  const Pending last = ServerRead();
  // Written at once, without running the io_context, so that the record and
  // the reset come to the server's reactor together.
  const std::string record = "last";
  ASSERT_EQ(client_->WriteNow(asio::buffer(record)), std::tuple(boost::system::error_code(), 4));
  client_->next_layer().set_option(asio::socket_base::linger(true, 0));
  client_->next_layer().close();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Await(last), Bytes("last"));
  EXPECT_EQ(Await(ServerRead(), 1s), Outcome(asio::error::connection_reset, ""));
}

}  // namespace
}  // namespace bulwark::net::internal
