// A blocking TLS client on OpenSSL for tests: connects to 127.0.0.1, verifies
// the server against a CA file, optionally presents a client certificate, and
// sends HTTP/1.1 requests on one keep-alive connection. Every read has a
// deadline (SO_RCVTIMEO), so a broken server fails a test instead of hanging.
#ifndef BULWARK_TESTS_TESTING_TLS_TEST_CLIENT_H_
#define BULWARK_TESTS_TESTING_TLS_TEST_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ssl_st;
struct ssl_ctx_st;

namespace bulwark::testing {

struct TlsClientOptions {
  std::string ca_file;    // PEM; the server must chain to it
  std::string cert_file;  // client certificate (PEM), optional
  std::string key_file;
  std::string server_name = "localhost";  // SNI and the name checked
  bool tls12_only = false;                // offer TLS 1.2 and nothing newer
  std::vector<std::string> alpn;          // protocols offered by ALPN, if any
  std::string resume;                     // a session() of an earlier client to resume
  std::string groups;  // the key-exchange groups offered (an OpenSSL list), else OpenSSL's
};

struct TlsResponse {
  int status = 0;
  std::string head;  // status line and header fields
  std::string body;
};

class TlsTestClient {
 public:
  TlsTestClient(uint16_t port, const TlsClientOptions& options);
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  // True if the TCP connection and the handshake (client side) completed.
  // Under TLS 1.3 a server that refuses the client's certificate says so only
  // after this, on the first read.
  bool handshake_ok() const { return handshake_ok_; }
  // Why the connection or the handshake failed, for a test's message.
  const std::string& failure() const { return failure_; }
  // The serial number of the certificate the server presented (decimal).
  std::string server_cert_serial() const;
  std::string version() const;
  // The key-exchange group agreed on (OpenSSL's short name: "X25519",
  // "prime256v1"...), or empty.
  std::string group() const;
  // The protocol ALPN settled on, or empty.
  std::string alpn() const;
  // The session as it stands (DER), for TlsClientOptions::resume: under TLS
  // 1.3 resumable once a response was read (the ticket comes after the
  // handshake).
  std::string session() const;
  // Whether the handshake resumed the session it was given.
  bool resumed() const;

  // Sends "GET <path>" with keep-alive and reads one response (Content-Length
  // framing). nullopt if the connection fails or closes first.
  std::optional<TlsResponse> Get(std::string_view path);
  // The two halves of Get, for pipelining: Send writes the request (one TLS
  // record each), Receive reads the next response; bytes read past it are
  // kept for the next Receive.
  bool Send(std::string_view path);
  std::optional<TlsResponse> Receive();
  // `data` made into application-data records (of up to 16 KiB), as the
  // bytes that would go on the wire; empty on failure. They must be sent
  // (SendWire) before anything else is written.
  std::string Seal(std::string_view data);
  // Sends `wire` on the connection as it is, `piece` bytes at a time with
  // `pause` between (a slow link); stops at the first failure. It makes no
  // OpenSSL call, so it may run on a thread of its own while Receive runs.
  bool SendWire(std::string_view wire, size_t piece, std::chrono::milliseconds pause);
  // Writes `data` as application data at once.
  bool SendData(std::string_view data);
  // What the server sent that no Receive took, or else the next bytes it
  // sends; nullopt once the connection ends or fails (or the 5 s receive
  // timeout passes).
  std::optional<std::string> ReadData();

 private:
  bool ReadMore();

  std::string received_;  // read and not yet taken by Receive

  int fd_ = -1;
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  bool handshake_ok_ = false;
  std::string failure_;
};

}  // namespace bulwark::testing

#endif  // BULWARK_TESTS_TESTING_TLS_TEST_CLIENT_H_
