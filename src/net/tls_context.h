// Server TLS contexts with hot reload. Internal to net/ (includes Asio's SSL
// and so OpenSSL); see net/tls.h for the behaviour.
#ifndef BULWARK_NET_TLS_CONTEXT_H_
#define BULWARK_NET_TLS_CONTEXT_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/status.h"
#include "net/tls.h"

namespace bulwark::net::internal {

// Builds a server context from `options`' files as they are now.
// kInvalidArgument (naming the file) if one does not load or the key does not
// match the certificate; kNotFound if a file is missing.
Result<std::shared_ptr<boost::asio::ssl::context>> BuildServerContext(
    const TlsServerOptions& options);

// A client context for connections out (to services, to identity
// providers): TLS 1.2 at least, with what the listeners take of it; the
// peer verified against `ca_file` (the system's roots if empty); a client
// certificate if `cert_file` and `key_file` are given (both or neither).
// kInvalidArgument naming the file that does not load.
Result<std::shared_ptr<boost::asio::ssl::context>> BuildClientContext(const std::string& ca_file,
                                                                      const std::string& cert_file,
                                                                      const std::string& key_file);

// A fingerprint of `files` as they are now (device, inode, size and times,
// through symlinks), which changes when any of them is replaced or written.
std::string FilesSignature(const std::vector<std::string>& files);

// The current server context, replaced when its files change. Thread-safe.
class TlsContextSource {
 public:
  // Loads the files once (errors as BuildServerContext) and starts watching.
  static Result<std::unique_ptr<TlsContextSource>> Create(TlsServerOptions options);
  ~TlsContextSource();  // stops watching

  // The context for a new connection; keep it for the connection's life.
  std::shared_ptr<boost::asio::ssl::context> Current() const;
  // The same, with the generation of the client trust (CA bundle and CRL)
  // it verifies client certificates against.
  std::pair<std::shared_ptr<boost::asio::ssl::context>, uint64_t> CurrentWithTrust() const;
  // The generation of the client trust now: it grows each time a reload
  // takes a changed CA bundle or CRL. Lock-free.
  uint64_t TrustGeneration() const { return trust_generation_.load(std::memory_order_acquire); }

  // Checks the files now and reloads if they changed; true if a new context
  // was installed. The watcher calls it every reload_interval.
  bool ReloadIfChanged();

 private:
  explicit TlsContextSource(TlsServerOptions options);
  std::vector<std::string> WatchedFiles() const;
  std::vector<std::string> TrustFiles() const;  // the CA bundle and CRL, if any
  void Watch();

  const TlsServerOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // guarded by mu_
  std::string loaded_signature_;                        // guarded by mu_; last attempted load
  std::string trust_signature_;  // guarded by mu_; the trust files current_ was built from
  // current_'s client trust; changed only under mu_, with current_, and read
  // without it by TrustGeneration.
  std::atomic<uint64_t> trust_generation_{0};
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread watcher_;
};

// Client side: sends `name` as SNI (unless it is an IP address) and makes the
// handshake fail unless the server's certificate holds it (DNS name or IP;
// an IPv6 address's zone, `%eth0`, is no part of it). False if OpenSSL
// took no name to check (one it cannot parse): the caller must not connect,
// or only the chain would be verified and any certificate of a trusted CA
// would pass for the service.
[[nodiscard]] bool ExpectPeerName(SSL* ssl, const std::string& name);

// Fills `info` from an established connection.
void DescribeTlsConnection(SSL* ssl, TlsConnectionInfo& info);

}  // namespace bulwark::net::internal

#endif  // BULWARK_NET_TLS_CONTEXT_H_
