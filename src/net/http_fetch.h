// FetchUrl: a small blocking HTTP(S) GET for configuration a component pulls
// from elsewhere (an identity provider's JWKS). It runs on the caller's
// thread with its own event loop and a deadline, so call it from a
// background thread, never from an io thread.
//
// Safe by default: https with the peer's certificate verified against the
// system trust store (or `ca_file`) and its name checked; TLS 1.2 or newer;
// plain http only to a loopback address (a development identity provider on
// localhost); no redirects followed; the body capped.
#ifndef BULWARK_NET_HTTP_FETCH_H_
#define BULWARK_NET_HTTP_FETCH_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::net {

class UpstreamTlsContext;

struct FetchOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // the whole exchange
  std::string ca_file;                                         // PEM bundle; "" = system trust
  size_t max_body_bytes = 1 << 20;
  // The status and head alone: FetchedResponse::body is empty. The body is
  // read and dropped, up to 1 MiB within half a second (and `timeout`), so
  // that the service sees the connection closed, not reset; a longer or
  // slower one is left unread.
  bool head_only = false;
  // A client certificate to present (mTLS), PEM.
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must hold, when not the URL's host.
  std::string server_name;
  // The TLS context to connect with, in place of one made from ca_file,
  // cert_file and key_file for this fetch: an upstream's health check takes
  // the upstream's own, which keeps its last good context while its files
  // are rotated (a key not yet matching its certificate), as the proxy's
  // connections do.
  std::shared_ptr<UpstreamTlsContext> tls_context;
  // IP addresses to connect to (the first that answers) in place of looking
  // up the URL's host, whose name still goes as Host and is checked against
  // the certificate: an upstream endpoint's addresses, as last looked up.
  // Without allow_plain_http, plain http needs them all to be loopback.
  std::vector<std::string> connect_addresses;
  // Plain http to any host (health checks of an upstream already configured
  // as plaintext); otherwise only to loopback.
  bool allow_plain_http = false;
  // Another method than GET (the CLI's calls to Bulwark's own APIs), with
  // this body and content type, and an `Authorization: Bearer` token.
  std::string method = "GET";
  std::string body;
  std::string content_type;
  std::string bearer_token;
  // A stop requested on it ends the exchange at once (kCancelled): a server
  // stopping does not wait out the timeout of a fetch under way, nor of
  // its name lookup.
  std::stop_token stop;
};

struct FetchedResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// OK if FetchUrl would accept `url` (its errors of kInvalidArgument), so a
// misconfigured URL is refused at start rather than at the first fetch;
// `allow_plain_http` as FetchOptions::allow_plain_http.
Status CheckFetchUrl(std::string_view url, bool allow_plain_http = false);

// GETs `url` (or sends options.method). Errors: kInvalidArgument for a URL
// that is not http(s), has user info or a fragment, or is plain http to a
// non-loopback host (unless allow_plain_http), or for certificate files that
// do not load; kDeadlineExceeded on timeout (the name lookup included, see
// net/resolve.h); kUnavailable when the host does not resolve, refuses, fails
// TLS verification or answers garbage; kResourceExhausted for a body over the
// cap. Any HTTP status is returned as a response.
Result<FetchedResponse> FetchUrl(std::string_view url, const FetchOptions& options = {});

}  // namespace bulwark::net

#endif  // BULWARK_NET_HTTP_FETCH_H_
