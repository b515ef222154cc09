// The TLS client context of an upstream (its CA bundle and, for mTLS, its
// client certificate and key), reloaded when its files change. Internal to
// net/ and the gateway's proxy, which hand it to their UpstreamPools.
#ifndef BULWARK_NET_UPSTREAM_TLS_CONTEXT_H_
#define BULWARK_NET_UPSTREAM_TLS_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/status.h"

namespace bulwark::net {

// TLS to an upstream: its certificate is verified against `ca_file` (or the
// system trust store) for `server_name` (default: the upstream's host), TLS
// 1.2 or newer; `cert_file` and `key_file` present a client certificate
// (mTLS, e.g. Bulwark's own SPIFFE SVID).
struct UpstreamTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
};

// An upstream's TLS client context, shared by all its pools, made again
// from its files when they change: a client certificate rotated before it
// expires (a SPIFFE SVID lives about an hour), a CA bundle renewed. Each new
// connection takes the context as it is then; those open keep theirs. The
// files are looked at (a stat(2) each) by the thread opening a connection,
// at most once per `recheck`; a change is loaded on a thread of its own, so
// no io thread parses certificates, and until it is loaded connections take
// the context before it. A change that does not load (a key not yet
// matching its certificate, a half-written file) leaves the last good
// context in use until the files change again. Thread-safe.
class UpstreamTlsContext {
 public:
  // kInvalidArgument (naming the file) if a file does not load now.
  static Result<std::shared_ptr<UpstreamTlsContext>> Create(
      UpstreamTls tls, std::chrono::milliseconds recheck = std::chrono::seconds(1));
  ~UpstreamTlsContext();  // waits for a load under way
  UpstreamTlsContext(const UpstreamTlsContext&) = delete;
  UpstreamTlsContext& operator=(const UpstreamTlsContext&) = delete;

  // The context for a new connection; keep it for the connection's life.
  std::shared_ptr<boost::asio::ssl::context> Current();

 private:
  UpstreamTlsContext(UpstreamTls tls, std::chrono::milliseconds recheck);
  std::vector<std::string> Files() const;
  // Starts a load if the files changed since the last look.
  void Recheck();
  // On loader_: makes the context from the files and puts it in place.
  void Load();

  const UpstreamTls tls_;
  const std::chrono::steady_clock::duration recheck_;
  std::atomic<std::chrono::steady_clock::rep> next_look_{0};  // steady_clock ticks
  std::atomic<bool> loading_{false};
  std::mutex look_mu_;     // one thread looks at the files at a time
  std::string signature_;  // guarded by look_mu_: the files when last looked at
  std::thread loader_;     // guarded by look_mu_
  std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;  // guarded by mu_
};

}  // namespace bulwark::net

#endif  // BULWARK_NET_UPSTREAM_TLS_CONTEXT_H_
