// IoBatch on real loopback TCP sockets: sends that arrive, that take what
// the socket takes without waiting, that fail without SIGPIPE; more sends in
// one pass than the ring has slots, in order; sends of the next pass, and of
// the one after when reads finished, in the same submission; a batch
// destroyed with a send queued; a ring the kernel refuses, after which sends
// go one call each and none goes twice.
#include "net/io_batch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "net/immediate_io.h"
#include "net/reactor_receive.h"

namespace bulwark::net::internal {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A connected pair of loopback TCP sockets.
struct TcpPair {
  TcpPair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(::listen(listener, 1), 0);
    EXPECT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size), 0);
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address), size), 0);
    server = ::accept(listener, nullptr, nullptr);
    EXPECT_GE(server, 0);
    ::close(listener);
  }
  ~TcpPair() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }
  int client = -1;
  int server = -1;
};

// Reads the `size` bytes sent to `fd`.
std::string ReceiveAll(int fd, size_t size) {
  std::string received(size, '\0');
  size_t have = 0;
  while (have < size) {
    const ssize_t n = ::recv(fd, received.data() + have, size - have, 0);
    if (n <= 0) break;
    have += static_cast<size_t>(n);
  }
  received.resize(have);
  return received;
}

class IoBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    batch_ = IoBatch::Create(ioc_);
    if (batch_ == nullptr) GTEST_SKIP() << "io_uring is not available on this kernel";
    // The passes the tests count, not how long a slow machine takes for them.
    batch_->SetLongestWaitForTesting(std::chrono::seconds(10));
  }

  // Runs the io_context until `done` holds (or 5 s pass).
  void RunUntil(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < give_up) {
      ioc_.restart();
      ioc_.run_for(5ms);
    }
  }

  // Spawns a send of `buffer` on `fd`; `sent` takes its outcome.
  void SpawnSend(int fd, asio::const_buffer buffer, std::optional<IoOutcome>& sent) {
    asio::co_spawn(
        ioc_,
        [this, fd, buffer, &sent]() -> asio::awaitable<void> {
          sent = co_await batch_->Send(fd, buffer);
        },
        asio::detached);
  }

  asio::io_context ioc_;
  std::unique_ptr<IoBatch> batch_;  // after ioc_: destroyed first
};

TEST_F(IoBatchTest, ASendArrives) {
  TcpPair pair;
  std::optional<IoOutcome> sent;
  SpawnSend(pair.client, asio::buffer(std::string_view("hello")), sent);
  RunUntil([&] { return sent.has_value(); });
  ASSERT_TRUE(sent.has_value());
  EXPECT_FALSE(std::get<0>(*sent));
  EXPECT_EQ(std::get<1>(*sent), 5u);
  std::array<char, 8> read{};
  ASSERT_EQ(::recv(pair.server, read.data(), read.size(), 0), 5);
  EXPECT_EQ(std::string_view(read.data(), 5), "hello");
}

TEST_F(IoBatchTest, ASendTakesWhatTheSocketTakesWithoutWaiting) {
  TcpPair pair;
  const std::string big(32 << 20, 'x');  // far beyond the socket buffers; nobody reads
  std::optional<IoOutcome> sent;
  SpawnSend(pair.server, asio::buffer(big), sent);
  RunUntil([&] { return sent.has_value(); });
  ASSERT_TRUE(sent.has_value());
  EXPECT_FALSE(std::get<0>(*sent));
  EXPECT_GT(std::get<1>(*sent), 0u);
  EXPECT_LT(std::get<1>(*sent), big.size());
  // Once the socket is full, a send takes nothing and says so without an
  // error. (Full for good only once what the kernel moves on to the
  // reader's buffer, and autotuning's growth of both, have been taken up:
  // a send right after the first may still take some.)
  bool took_nothing = false;
  for (int i = 0; i < 100 && !took_nothing; ++i) {
    sent.reset();
    SpawnSend(pair.server, asio::buffer(big), sent);
    RunUntil([&] { return sent.has_value(); });
    ASSERT_TRUE(sent.has_value());
    ASSERT_FALSE(std::get<0>(*sent)) << std::get<0>(*sent).message();
    took_nothing = std::get<1>(*sent) == 0;
  }
  EXPECT_TRUE(took_nothing);
}

TEST_F(IoBatchTest, ASendToAPeerThatWentAwayIsAnErrorNotASignal) {
  TcpPair pair;
  ::close(pair.server);
  pair.server = -1;
  // The first send may still be taken; the peer's reset then fails the next.
  std::optional<IoOutcome> sent;
  boost::system::error_code error;
  for (int i = 0; i < 20 && !error; ++i) {
    sent.reset();
    SpawnSend(pair.client, asio::buffer(std::string_view("x")), sent);
    RunUntil([&] { return sent.has_value(); });
    ASSERT_TRUE(sent.has_value());
    error = std::get<0>(*sent);
  }
  EXPECT_TRUE(error == asio::error::broken_pipe || error == asio::error::connection_reset)
      << error.message();
}

TEST_F(IoBatchTest, MoreSendsInOnePassThanTheRingHoldsGoInOrder) {
  TcpPair pair;
  constexpr int kSends = 600;  // the ring has 256 submission slots
  std::vector<char> bytes(kSends);
  int done = 0;
  for (int i = 0; i < kSends; ++i) {
    bytes[i] = static_cast<char>(i % 251);
    asio::co_spawn(
        ioc_,
        [&, i]() -> asio::awaitable<void> {
          auto [ec, n] = co_await batch_->Send(pair.client, asio::buffer(&bytes[i], 1));
          if (!ec && n == 1) ++done;
        },
        asio::detached);
  }
  RunUntil([&] { return done == kSends; });
  ASSERT_EQ(done, kSends);
  EXPECT_EQ(ReceiveAll(pair.server, kSends), std::string(bytes.begin(), bytes.end()));
}

// The requests to services of a flush go before its answers, each kind in
// the order it queued, across turns of the ring too. Seen here on one
// socket, which the proxy never does (a socket has one send at a time),
// since one socket is where the order the kernel took them shows.
TEST_F(IoBatchTest, RequestsToServicesGoFirstEachKindInOrder) {
  TcpPair pair;
  constexpr int kSends = 600;  // the ring has 256 submission slots
  std::vector<char> bytes(kSends);
  std::string requests;
  std::string answers;
  int done = 0;
  for (int i = 0; i < kSends; ++i) {
    bytes[i] = static_cast<char>(i % 251);
    const auto turn = i % 3 == 1 ? IoBatch::Turn::kRequest : IoBatch::Turn::kAnswer;
    (turn == IoBatch::Turn::kRequest ? requests : answers).push_back(bytes[i]);
    asio::co_spawn(
        ioc_,
        [&, i, turn]() -> asio::awaitable<void> {
          auto [ec, n] = co_await batch_->Send(pair.client, asio::buffer(&bytes[i], 1), turn);
          if (!ec && n == 1) ++done;
        },
        asio::detached);
  }
  RunUntil([&] { return done == kSends; });
  ASSERT_EQ(done, kSends);
  EXPECT_EQ(batch_->SubmissionsForTesting(), 3u);
  EXPECT_EQ(ReceiveAll(pair.server, kSends), requests + answers);
}

// A send queued in the pass after the first one's joins it: one submission.
TEST_F(IoBatchTest, ASendOfTheNextPassGoesInTheSameSubmission) {
  TcpPair pair;
  std::optional<IoOutcome> first;
  std::optional<IoOutcome> second;
  SpawnSend(pair.client, asio::buffer(std::string_view("ab")), first);
  ioc_.run_one();  // up to the first send, its flush posted
  SpawnSend(pair.client, asio::buffer(std::string_view("cd")), second);  // behind the flush
  RunUntil([&] { return first.has_value() && second.has_value(); });
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(std::get<1>(*first), 2u);
  EXPECT_EQ(std::get<1>(*second), 2u);
  EXPECT_EQ(batch_->SubmissionsForTesting(), 1u);
  EXPECT_EQ(ReceiveAll(pair.server, 4), "abcd");
}

// A pass that finished no read ends the wait: the sends go after one.
TEST_F(IoBatchTest, APassWithoutReadsEndsTheWait) {
  TcpPair pair;
  std::optional<IoOutcome> sent;
  SpawnSend(pair.client, asio::buffer(std::string_view("ab")), sent);
  ioc_.run_one();  // up to the send, its flush posted
  int passes = 0;
  std::function<void()> again = [&] {  // busy, but reading nothing
    if (sent.has_value() || ++passes == 8) return;
    asio::post(ioc_, again);
  };
  asio::post(ioc_, again);
  RunUntil([&] { return sent.has_value(); });
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(passes, 1) << "the send waited for other than one pass";
  EXPECT_EQ(ReceiveAll(pair.server, 2), "ab");
}

// Past the longest wait, the sends go without waiting for another pass.
TEST_F(IoBatchTest, SendsThatWaitedLongEnoughGoAtOnce) {
  batch_->SetLongestWaitForTesting(std::chrono::microseconds(0));
  TcpPair pair;
  std::optional<IoOutcome> first;
  std::optional<IoOutcome> second;
  SpawnSend(pair.client, asio::buffer(std::string_view("ab")), first);
  ioc_.run_one();
  SpawnSend(pair.client, asio::buffer(std::string_view("cd")), second);
  RunUntil([&] { return first.has_value() && second.has_value(); });
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(batch_->SubmissionsForTesting(), 2u);
  EXPECT_EQ(ReceiveAll(pair.server, 4), "abcd");
}

// Reads `socket`, then sends `reply` on `fd`.
asio::awaitable<void> ReadThenSend(IoBatch& batch, asio::ip::tcp::socket& socket, int fd,
                                   std::string_view reply, bool& sent) {
  std::array<char, 8> buffer{};
  co_await AsyncReceive(ReactorOf(socket), socket, asio::buffer(buffer), asio::use_awaitable);
  auto [ec, n] = co_await batch.Send(fd, asio::buffer(reply));
  sent = !ec && n == reply.size();
}

// A pass that finished reads earns the sends one more pass, whose sends
// (those reads' answers) join them; then they go, however busy the thread.
TEST_F(IoBatchTest, APassThatReadsHoldsTheSendsOneMorePassAndNoMore) {
  TcpPair out;
  TcpPair in;
  ASSERT_EQ(::send(in.client, "x", 1, 0), 1);
  asio::ip::tcp::socket reader(ioc_, asio::ip::tcp::v4(), std::exchange(in.server, -1));
  std::optional<IoOutcome> first;
  bool answered = false;
  SpawnSend(out.client, asio::buffer(std::string_view("ab")), first);
  ioc_.run_one();  // up to the first send, its flush posted
  // Behind the flush: a read that finds its byte, then its answer, which
  // queues two passes later (the read, then its completion).
  asio::co_spawn(ioc_, ReadThenSend(*batch_, reader, out.client, "cd", answered), asio::detached);
  RunUntil([&] { return first.has_value() && answered; });
  ASSERT_TRUE(first.has_value() && answered);
  EXPECT_EQ(batch_->SubmissionsForTesting(), 1u);
  EXPECT_EQ(ReceiveAll(out.server, 4), "abcd");

  // A thread that keeps reading: the sends go by the third pass all the same.
  const uint64_t before = batch_->SubmissionsForTesting();
  std::optional<IoOutcome> held;
  SpawnSend(out.client, asio::buffer(std::string_view("e")), held);
  ioc_.run_one();
  ASSERT_EQ(::send(in.client, "0123456789abcdef", 16, 0), 16);
  int passes = 0;
  char byte = 0;
  std::function<void()> read_again = [&] {
    // A byte at a time: every pass finishes a read, and leaves more.
    ++passes;
    AsyncReceive(ReactorOf(reader), reader, asio::buffer(&byte, 1),
                 [&](boost::system::error_code ec, size_t) {
                   if (!ec && !held.has_value() && passes < 16) read_again();
                 });
  };
  read_again();
  RunUntil([&] { return held.has_value(); });
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(batch_->SubmissionsForTesting(), before + 1);
  EXPECT_LE(passes, 4) << "the send waited for more than two passes";
}

TEST_F(IoBatchTest, DestroyedWithASendQueuedItSendsNothingAndLetsGo) {
  TcpPair pair;
  std::weak_ptr<std::string> buffer_alive;
  asio::co_spawn(
      ioc_,
      [&]() -> asio::awaitable<void> {
        auto buffer = std::make_shared<std::string>("never");
        buffer_alive = buffer;
        co_await batch_->Send(pair.client, asio::buffer(*buffer));
        ADD_FAILURE() << "the send completed";
      },
      asio::detached);
  // Runs the coroutine up to its send, not the flush posted behind it.
  ioc_.run_one();
  ASSERT_FALSE(buffer_alive.expired());
  batch_.reset();
  ioc_.restart();
  ioc_.run_for(10ms);  // Asio destroys an unfinished coroutine on its executor
  EXPECT_TRUE(buffer_alive.expired()) << "the coroutine's frame went with the batch";
  std::array<char, 8> read{};
  EXPECT_EQ(::recv(pair.server, read.data(), read.size(), MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(IoBatchTest, WhenTheKernelRefusesTheRingSendsGoOneCallEachAndNoneTwice) {
  TcpPair pair;
  // Another file where the ring's descriptor was: io_uring_enter(2) on it
  // fails, as a kernel or a filter refusing the ring would.
  const int other = ::eventfd(0, EFD_CLOEXEC);
  ASSERT_GE(other, 0);
  ASSERT_EQ(::dup2(other, batch_->RingFdForTesting()), batch_->RingFdForTesting());
  ::close(other);
  const std::string_view bytes = "abcdefgh";
  int done = 0;
  auto send_all = [&](std::string_view part) {
    for (size_t i = 0; i < part.size(); ++i) {
      asio::co_spawn(
          ioc_,
          [&, at = part.data() + i]() -> asio::awaitable<void> {
            auto [ec, n] = co_await batch_->Send(pair.client, asio::buffer(at, 1));
            if (!ec && n == 1) ++done;
          },
          asio::detached);
    }
  };
  send_all(bytes.substr(0, 4));  // one pass: the submission fails
  RunUntil([&] { return done == 4; });
  ASSERT_EQ(done, 4);
  send_all(bytes.substr(4));  // the next pass: one call each from the start
  RunUntil([&] { return done == 8; });
  ASSERT_EQ(done, 8);
  EXPECT_EQ(ReceiveAll(pair.server, bytes.size()), bytes);
  // Nothing more came: no send went twice.
  std::array<char, 16> more{};
  EXPECT_EQ(::recv(pair.server, more.data(), more.size(), MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

}  // namespace
}  // namespace bulwark::net::internal
