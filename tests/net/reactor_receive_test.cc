// AsyncReceive and AsyncWaitReadable on real loopback TCP sockets: a read
// that drained the socket leaves the next one waiting without a read that
// finds nothing, yet it misses neither bytes that came in between, nor an
// end of stream or a reset queued behind the last bytes (for which no
// readiness would come again), with or without the kernel's hints; reads
// smaller than what came take it in turns; a receive into no room completes
// at once; closing the socket ends a waiting read, and an io_context
// destroyed with one destroys its handler unrun.
#include "net/reactor_receive.h"

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "net/io_outcome.h"

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

class ReactorReceiveTest : public ::testing::Test {
 protected:
  // Connects `socket_` (of ioc_) to `peer_` (blocking, another context).
  void Connect(bool hints) {
    tcp::acceptor acceptor(ioc_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    peer_.connect(acceptor.local_endpoint());
    socket_ = std::make_unique<tcp::socket>(acceptor.accept());
    if (hints) EnableReceiveHints(*socket_);
    reactor_ = &ReactorOf(*socket_);
  }

  void Send(std::string_view bytes) {
    ASSERT_EQ(asio::write(peer_, asio::buffer(bytes)), bytes.size());
  }

  // Starts a read of up to `size` bytes.
  Pending Receive(size_t size = 64) {
    Pending out = NewPending();
    auto buffer = std::make_shared<std::string>(size, '\0');
    AsyncReceive(*reactor_, *socket_, asio::buffer(*buffer),
                 [buffer, out](boost::system::error_code ec, size_t n) {
                   out->emplace(ec, buffer->substr(0, n));
                 });
    return out;
  }

  Outcome Await(const Pending& out, std::chrono::milliseconds limit = 5s) {
    return io_test::Await(ioc_, out, limit);
  }

  Outcome ReceiveNext(size_t size = 64, std::chrono::milliseconds limit = 5s) {
    return Await(Receive(size), limit);
  }

  // A read that waits in the reactor when `bytes` come, and takes them all.
  void ReceiveAsTheyCome(std::string_view bytes) {
    const Pending first = Receive();
    Send(bytes);
    EXPECT_EQ(Await(first), Outcome(boost::system::error_code(), std::string(bytes)));
  }

  asio::io_context ioc_;
  asio::io_context peer_ioc_;
  tcp::socket peer_{peer_ioc_};
  std::unique_ptr<tcp::socket> socket_;
  Reactor* reactor_ = nullptr;
};

const Outcome kEof{asio::error::eof, ""};

TEST_F(ReactorReceiveTest, ADrainedSocketsNextReadWaitsWithoutTryingWhereTheKernelTells) {
  for (const bool hints : {true, false}) {
    SCOPED_TRACE(hints ? "with hints" : "without hints");
    Connect(hints);
    ReceiveAsTheyCome("abc");
    const uint64_t found_nothing = WouldBlockReceivesForTesting();
    const Pending next = Receive();
    EXPECT_EQ(Await(next, 50ms), kTimedOut);
    Send("de");
    EXPECT_EQ(Await(next), Bytes("de"));
    // With hints the kernel said nothing was left, and no read was made to
    // find that out; without, the next read tried first, as Asio's does.
    EXPECT_EQ(WouldBlockReceivesForTesting(), found_nothing + (hints ? 0 : 1));
    peer_.close();
  }
}

TEST_F(ReactorReceiveTest, BytesThatCameBetweenReadsAreNotMissed) {
  Connect(/*hints=*/true);
  ReceiveAsTheyCome("abc");
  // They come before the next read begins and before the reactor looks.
  Send("xyz");
  EXPECT_EQ(ReceiveNext(), Bytes("xyz"));
}

TEST_F(ReactorReceiveTest, TheEndQueuedBehindTheLastBytesIsReadAtOnce) {
  for (const bool hints : {true, false}) {
    SCOPED_TRACE(hints ? "with hints" : "without hints");
    Connect(hints);
    // A read waits; the last bytes and the end come together, with one
    // readiness for both: the read that takes the bytes has not drained the
    // socket, and no readiness comes again for the end.
    const Pending last = Receive();
    Send("last");
    peer_.shutdown(tcp::socket::shutdown_send);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(Await(last), Bytes("last"));
    EXPECT_EQ(ReceiveNext(64, 1s), kEof);
    peer_.close();
  }
}

TEST_F(ReactorReceiveTest, AResetQueuedBehindTheLastBytesIsReadAtOnce) {
  Connect(/*hints=*/true);
  // As above with a reset, which TCP_INQ does not count.
  const Pending last = Receive();
  Send("last");
  peer_.set_option(asio::socket_base::linger(true, 0));
  peer_.close();
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Await(last), Bytes("last"));
  EXPECT_EQ(ReceiveNext(64, 1s), Outcome(asio::error::connection_reset, ""));
}

TEST_F(ReactorReceiveTest, MoreThanTheBufferIsTakenInTurns) {
  Connect(/*hints=*/true);
  const std::string sent(100, 'x');
  Send(sent);
  std::this_thread::sleep_for(20ms);
  std::string got;
  for (int i = 0; i < 10; ++i) {
    const auto [ec, bytes] = ReceiveNext(10);
    ASSERT_FALSE(ec) << ec.message();
    got += bytes;
  }
  EXPECT_EQ(got, sent);
  EXPECT_EQ(ReceiveNext(10, 50ms), kTimedOut);
}

TEST_F(ReactorReceiveTest, AReceiveIntoNoRoomCompletesAtOnceAndLeavesTheSocketAsItWas) {
  Connect(/*hints=*/true);
  ReceiveAsTheyCome("abc");
  Send("more");
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(ReceiveNext(0), Bytes(""));
  EXPECT_EQ(ReceiveNext(), Bytes("more"));
}

TEST_F(ReactorReceiveTest, AWaitForReadinessCompletesWhenBytesCome) {
  Connect(/*hints=*/true);
  ReceiveAsTheyCome("abc");
  const Pending ready = NewPending();
  AsyncWaitReadable(*reactor_, *socket_, [ready](boost::system::error_code ec, size_t n) {
    ready->emplace(ec, std::string(n, '?'));
  });
  EXPECT_EQ(Await(ready, 50ms), kTimedOut);
  Send("de");
  EXPECT_EQ(Await(ready), Bytes(""));
  // The wait read nothing; its caller reads for itself, as OpenSSL does.
  char bytes[8];
  bool drained = false;
  const ssize_t n = ReceiveTelling(socket_->native_handle(), bytes, sizeof bytes, drained);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(std::string_view(bytes, 2), "de");
  EXPECT_TRUE(drained);
}

TEST_F(ReactorReceiveTest, ClosingTheSocketEndsAWaitingRead) {
  Connect(/*hints=*/true);
  const Pending out = Receive();
  EXPECT_EQ(Await(out, 20ms), kTimedOut);
  socket_->close();
  EXPECT_EQ(std::get<0>(Await(out)), asio::error::operation_aborted);
}

TEST(ReactorReceive, AnIoContextDestroyedWithAWaitingReadDestroysItsHandlerUnrun) {
  auto alive = std::make_shared<int>(0);
  bool ran = false;
  asio::io_context peer_ioc;
  tcp::socket peer(peer_ioc);
  {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    peer.connect(acceptor.local_endpoint());
    tcp::socket socket = acceptor.accept();
    static char buffer[16];
    AsyncReceive(ReactorOf(socket), socket, asio::buffer(buffer),
                 [held = alive, &ran](boost::system::error_code, size_t) { ran = true; });
    ioc.run_for(10ms);
    EXPECT_EQ(alive.use_count(), 2);
  }
  EXPECT_EQ(alive.use_count(), 1);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace bulwark::net::internal
