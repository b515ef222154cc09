#include "testing/tls_test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

namespace bulwark::testing {

namespace {

// Runs an OpenSSL call on the blocking socket again when a signal
// interrupted its read or write (EINTR, which OpenSSL reports as "want to
// read/write"); a receive timeout (SO_RCVTIMEO) still ends it.
template <class Call>
int Retrying(SSL* ssl, Call call) {
  for (;;) {
    errno = 0;
    const int result = call();
    if (result > 0) return result;
    const int error = SSL_get_error(ssl, result);
    if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) || errno != EINTR) {
      return result;
    }
  }
}

}  // namespace

TlsTestClient::TlsTestClient(uint16_t port, const TlsClientOptions& options) {
  // OpenSSL writes to the socket with write(): a write to a connection the
  // server has ended must fail the call, not kill the test.
  static const bool kSigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)kSigpipeIgnored;
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) {
    failure_ = "socket: " + std::string(std::strerror(errno));
    return;
  }
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    failure_ = "connect: " + std::string(std::strerror(errno));
    return;
  }

  ctx_ = SSL_CTX_new(TLS_client_method());
  if (options.tls12_only) SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
  if (!options.groups.empty() && SSL_CTX_set1_groups_list(ctx_, options.groups.c_str()) != 1) {
    failure_ = "cannot offer the groups " + options.groups;
    return;
  }
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr) != 1) {
    failure_ = "cannot load the CA file";
    return;
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      failure_ = "cannot load the client certificate";
      return;
    }
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, options.server_name.c_str());
  SSL_set1_host(ssl_, options.server_name.c_str());
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& protocol : options.alpn) {
      wire.push_back(static_cast<char>(protocol.size()));
      wire += protocol;
    }
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  if (!options.resume.empty()) {
    const auto* der = reinterpret_cast<const unsigned char*>(options.resume.data());
    SSL_SESSION* session = d2i_SSL_SESSION(nullptr, &der, static_cast<long>(options.resume.size()));
    if (session == nullptr) {
      failure_ = "cannot read the session to resume";
      return;
    }
    SSL_set_session(ssl_, session);
    SSL_SESSION_free(session);
  }
  const int result = Retrying(ssl_, [this] { return SSL_connect(ssl_); });
  handshake_ok_ = result == 1;
  if (!handshake_ok_) {
    // What a failing test prints: OpenSSL's reason, or the system's.
    const int error = SSL_get_error(ssl_, result);
    const int saved_errno = errno;
    char reason[256] = "";
    ERR_error_string_n(ERR_peek_error(), reason, sizeof reason);
    failure_ =
        "SSL_connect: error " + std::to_string(error) + ", " +
        (ERR_peek_error() != 0 ? std::string(reason) : std::string(std::strerror(saved_errno)));
  }
  ERR_clear_error();
}

TlsTestClient::~TlsTestClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string TlsTestClient::server_cert_serial() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  int64_t serial = 0;
  ASN1_INTEGER_get_int64(&serial, X509_get0_serialNumber(cert));
  return std::to_string(serial);
}

std::string TlsTestClient::version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string TlsTestClient::group() const {
  if (ssl_ == nullptr || !handshake_ok_) return "";
  const char* name = OBJ_nid2sn(SSL_get_negotiated_group(ssl_));
  return name != nullptr ? name : "";
}

std::string TlsTestClient::alpn() const {
  if (ssl_ == nullptr) return "";
  const unsigned char* data = nullptr;
  unsigned size = 0;
  SSL_get0_alpn_selected(ssl_, &data, &size);
  return std::string(reinterpret_cast<const char*>(data), size);
}

std::string TlsTestClient::session() const {
  if (ssl_ == nullptr) return "";
  SSL_SESSION* session = SSL_get1_session(ssl_);
  if (session == nullptr) return "";
  std::string der;
  const int size = i2d_SSL_SESSION(session, nullptr);
  if (size > 0) {
    der.resize(static_cast<size_t>(size));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_SSL_SESSION(session, &out);
  }
  SSL_SESSION_free(session);
  return der;
}

bool TlsTestClient::resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

bool TlsTestClient::ReadMore() {
  char chunk[16384];
  const int n = Retrying(ssl_, [&] { return SSL_read(ssl_, chunk, sizeof(chunk)); });
  ERR_clear_error();
  if (n <= 0) return false;
  received_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::optional<TlsResponse> TlsTestClient::Get(std::string_view path) {
  if (!Send(path)) return std::nullopt;
  return Receive();
}

bool TlsTestClient::Send(std::string_view path) {
  if (!handshake_ok_) return false;
  const std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (Retrying(ssl_, [&] {
        return SSL_write(ssl_, request.data(), static_cast<int>(request.size()));
      }) <= 0) {
    ERR_clear_error();
    return false;
  }
  return true;
}

bool TlsTestClient::SendData(std::string_view data) {
  if (!handshake_ok_) return false;
  if (Retrying(ssl_, [&] { return SSL_write(ssl_, data.data(), static_cast<int>(data.size())); }) <=
      0) {
    ERR_clear_error();
    return false;
  }
  return true;
}

std::optional<std::string> TlsTestClient::ReadData() {
  if (!handshake_ok_) return std::nullopt;
  if (received_.empty() && !ReadMore()) return std::nullopt;
  return std::exchange(received_, std::string());
}

std::string TlsTestClient::Seal(std::string_view data) {
  if (!handshake_ok_) return "";
  BIO* socket = SSL_get_wbio(ssl_);
  BIO_up_ref(socket);
  BIO* memory = BIO_new(BIO_s_mem());
  SSL_set0_wbio(ssl_, memory);
  const int written = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
  char* bytes = nullptr;
  const long size = BIO_get_mem_data(memory, &bytes);
  std::string wire(bytes, size > 0 ? static_cast<size_t>(size) : 0);
  SSL_set0_wbio(ssl_, socket);  // frees the memory BIO
  if (written != static_cast<int>(data.size())) {
    ERR_clear_error();
    return "";
  }
  return wire;
}

bool TlsTestClient::SendWire(std::string_view wire, size_t piece, std::chrono::milliseconds pause) {
  if (piece == 0) return false;
  for (size_t at = 0; at < wire.size(); at += piece) {
    if (at != 0) std::this_thread::sleep_for(pause);
    const size_t n = std::min(piece, wire.size() - at);
    if (::send(fd_, wire.data() + at, n, MSG_NOSIGNAL) != static_cast<ssize_t>(n)) return false;
  }
  return true;
}

std::optional<TlsResponse> TlsTestClient::Receive() {
  if (!handshake_ok_) return std::nullopt;
  size_t head_end;
  while ((head_end = received_.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore()) return std::nullopt;
  }
  TlsResponse response;
  response.head = received_.substr(0, head_end);
  if (response.head.size() < 12) return std::nullopt;
  response.status = std::atoi(response.head.substr(9, 3).c_str());
  size_t length = 0;
  std::string lower = response.head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t at = lower.find("\r\ncontent-length:");
  if (at != std::string::npos) length = std::strtoul(lower.c_str() + at + 17, nullptr, 10);
  const size_t body_start = head_end + 4;
  while (received_.size() - body_start < length) {
    if (!ReadMore()) return std::nullopt;
  }
  response.body = received_.substr(body_start, length);
  received_.erase(0, body_start + length);
  return response;
}

}  // namespace bulwark::testing
