#include "http_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "net/io_batch.h"
#include "net/request_head.h"

namespace bulwark::net::testing {

LoopbackService::LoopbackService(std::function<void(int fd)> serve) : serve_(std::move(serve)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "cannot listen on 127.0.0.1";
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] {
    for (;;) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;  // shut down
      ++connections_;
      serve_(fd);
    }
  });
}

LoopbackService::~LoopbackService() {
  if (listen_fd_ >= 0) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
  }
  if (thread_.joinable()) thread_.join();
}

std::optional<ReceivedRequest> ReadRequestSlowly(
    const std::function<long(char* data, size_t size)>& read) {
  ReceivedRequest request;
  char c;
  while (request.head.find("\r\n\r\n") == std::string::npos && read(&c, 1) == 1) {
    request.head += c;
  }
  if (request.head.find("\r\n\r\n") == std::string::npos) return std::nullopt;
  size_t length = 0;
  if (const size_t at = request.head.find("Content-Length: "); at != std::string::npos) {
    length = std::stoul(request.head.substr(at + 16));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  request.body.resize(length);
  for (size_t got = 0; got < length;) {
    const long n = read(request.body.data() + got, length - got);
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  return request;
}

bool IoUringAvailable() {
  static const bool available = [] {
    boost::asio::io_context ioc;
    return internal::IoBatch::Create(ioc) != nullptr;
  }();
  return available;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

std::optional<std::string> RawResponse::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (EqualsIgnoreCase(field, name)) return value;
  }
  return std::nullopt;
}

TestClient::TestClient(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    connect_errno_ = errno;
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    connect_errno_ = errno;
    ::close(fd);
    return;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_ = fd;
}

TestClient::~TestClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4099) % 26);
  return s;
}

std::string Chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

bool ReadHead(int fd) {
  std::string head;
  char ch;
  while (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) {
    if (::read(fd, &ch, 1) != 1) return false;
    head.push_back(ch);
  }
  return true;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void ReadUntilClosed(int fd) {
  char drain[65536];
  for (;;) {
    const ssize_t n = ::read(fd, drain, sizeof drain);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

bool TestClient::Send(std::string_view data) { return SendAll(fd_, data); }

void TestClient::ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

ssize_t TestClient::RecvBefore(Clock::time_point deadline, char* buf, size_t size) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return -1;
  pollfd pfd{fd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) return -1;
  const ssize_t n = ::recv(fd_, buf, size, 0);
  if (n < 0 && errno == ECONNRESET) reset_ = true;
  return n < 0 ? 0 : n;
}

bool TestClient::Fill(Clock::time_point deadline) {
  char chunk[16384];
  const ssize_t n = RecvBefore(deadline, chunk, sizeof(chunk));
  if (n <= 0) return false;
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<RawResponse> TestClient::ReadResponse(bool head_request,
                                                    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  std::string_view head(buffer_.data(), end + 2);
  RawResponse response;
  const size_t status_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, status_end);
  if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) return std::nullopt;
  response.status = std::stoi(std::string(status_line.substr(9, 3)));
  for (size_t pos = status_end + 2; pos < head.size();) {
    const size_t eol = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    response.headers.emplace_back(std::string(line.substr(0, colon)), Trim(line.substr(colon + 1)));
    pos = eol + 2;
  }
  buffer_.erase(0, end + 4);
  const bool bodyless =
      head_request || response.status < 200 || response.status == 204 || response.status == 304;
  if (!bodyless && response.Header("Transfer-Encoding") == "chunked") {
    if (response.Header("Content-Length")) return std::nullopt;
    std::optional<std::string> body = ReadChunkedBody(deadline);
    if (!body) return std::nullopt;
    response.body = std::move(*body);
    response.chunked = true;
  } else if (!bodyless) {
    const auto length = response.Header("Content-Length");
    if (!length) return std::nullopt;
    const size_t n = std::stoul(*length);
    while (buffer_.size() < n) {
      if (!Fill(deadline)) return std::nullopt;
    }
    response.body = buffer_.substr(0, n);
    buffer_.erase(0, n);
  }
  return response;
}

std::optional<std::string> TestClient::ReadChunkedBody(Clock::time_point deadline) {
  std::string body;
  for (;;) {
    size_t eol;
    while ((eol = buffer_.find("\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    const std::string line = buffer_.substr(0, eol);
    if (line.empty() || line.size() > 16 ||
        line.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return std::nullopt;
    }
    const size_t size = std::stoul(line, nullptr, 16);
    while (buffer_.size() < eol + 2 + size + 2) {
      if (!Fill(deadline)) return std::nullopt;
    }
    if (buffer_.compare(eol + 2 + size, 2, "\r\n") != 0) return std::nullopt;
    body.append(buffer_, eol + 2, size);
    buffer_.erase(0, eol + 2 + size + 2);
    if (size == 0) return body;  // the last chunk, then the empty trailer
  }
}

std::string TestClient::ReadUntilClose(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Fill(deadline)) {
  }
  return std::exchange(buffer_, std::string());
}

bool TestClient::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char chunk[16384];
  for (;;) {
    const ssize_t n = RecvBefore(deadline, chunk, sizeof(chunk));
    if (n < 0) return false;
    if (n == 0) return true;
  }
}

std::optional<RawResponse> RoundTrip(uint16_t port, std::string_view request) {
  TestClient client(port);
  if (!client.connected()) return std::nullopt;
  // A refusal may come while the request is still being sent; read it anyway.
  client.Send(request);
  return client.ReadResponse();
}

}  // namespace bulwark::net::testing
