// A blocking HTTP/1.1 client over a plain POSIX socket, for driving
// HttpServer byte by byte in tests (including with requests no real client
// would send). Every wait has a deadline so a broken server fails a test
// instead of hanging it.
#ifndef BULWARK_TESTS_NET_HTTP_TEST_CLIENT_H_
#define BULWARK_TESTS_NET_HTTP_TEST_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace bulwark::net::testing {

// Whether this kernel lets an io thread batch its sends through io_uring
// (net/io_batch.h): tests of the batched path skip where it does not.
bool IoUringAvailable();

// A test's own service on 127.0.0.1, at a port the kernel chose: a thread
// accepts connections one at a time and hands each to `serve`, which owns
// the descriptor (and closes it), until the service is destroyed. Declare
// it after whatever `serve` uses, so that its thread stops first.
class LoopbackService {
 public:
  explicit LoopbackService(std::function<void(int fd)> serve);
  ~LoopbackService();
  LoopbackService(const LoopbackService&) = delete;
  LoopbackService& operator=(const LoopbackService&) = delete;

  uint16_t port() const { return port_; }
  // Connections accepted so far.
  int connections() const { return connections_.load(); }

 private:
  std::function<void(int fd)> serve_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// `size` bytes of letters in a pattern that does not repeat within a read's
// size, so that a piece lost, doubled or moved shows.
std::string Pattern(size_t size);

// `data` as one chunk of a chunked body.
std::string Chunk(std::string_view data);

// Reads a request head from the socket `fd`, byte by byte, and drops it:
// false if the connection ended first. For services that answer on the head.
bool ReadHead(int fd);

// Sends all of `data` on the socket `fd` (no SIGPIPE): false if it failed.
bool SendAll(int fd, std::string_view data);

// Reads and drops what comes on the socket `fd` until the peer closes it
// (or it fails): a service that has answered and waits for the end.
void ReadUntilClosed(int fd);

// A request a test's service read: its head (through the empty line) and
// its body (Content-Length framing only).
struct ReceivedRequest {
  std::string head;
  std::string body;
};
// Reads one request through `read` (bytes into the buffer, as ::read: 0 or
// less at the end), the body only after a pause, so that the sender's
// socket buffers fill and its writes must wait. nullopt if the connection
// ended before the whole request came.
std::optional<ReceivedRequest> ReadRequestSlowly(
    const std::function<long(char* data, size_t size)>& read);

struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool chunked = false;  // the body came in chunks (de-chunked into `body`)

  // The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
};

class TestClient {
 public:
  // Connects to 127.0.0.1:`port`; see connected().
  explicit TestClient(uint16_t port);
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int connect_errno() const { return connect_errno_; }

  // Sends all of `data`; false if the connection is gone.
  bool Send(std::string_view data);
  void ShutdownWrite();

  // Reads one response: the body by Content-Length or chunked (strictly:
  // hex sizes, CRLFs, no trailer), none for HEAD, 1xx, 204 and 304. nullopt
  // on EOF, reset, garbage, a response with neither framing, or timeout.
  std::optional<RawResponse> ReadResponse(
      bool head_request = false, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Everything that arrives until the server ends the connection (or
  // `timeout` passes), unparsed: for answers no parser here would take.
  std::string ReadUntilClose(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // True if the server ends the connection (EOF or reset) within `timeout`;
  // whatever arrives meanwhile is dropped.
  bool WaitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Whether a read found the connection reset (ECONNRESET) rather than
  // ended in order.
  bool reset() const { return reset_; }

 private:
  // The chunked body at the start of buffer_, taken from it.
  std::optional<std::string> ReadChunkedBody(std::chrono::steady_clock::time_point deadline);
  // Appends what arrives before `deadline` to buffer_; false on EOF or error.
  bool Fill(std::chrono::steady_clock::time_point deadline);
  // Waits for the socket until `deadline` and reads: bytes read, 0 when the
  // peer closed or failed, -1 on timeout.
  ssize_t RecvBefore(std::chrono::steady_clock::time_point deadline, char* buf, size_t size);

  int fd_ = -1;
  int connect_errno_ = 0;
  bool reset_ = false;
  std::string buffer_;
};

// Sends `request` on a new connection and reads one response.
std::optional<RawResponse> RoundTrip(uint16_t port, std::string_view request);

}  // namespace bulwark::net::testing

#endif  // BULWARK_TESTS_NET_HTTP_TEST_CLIENT_H_
