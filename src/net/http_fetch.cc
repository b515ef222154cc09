#include "net/http_fetch.h"

#include "net/await.h"
#include "net/connect.h"
#include "net/resolve.h"
#include "net/tls_context.h"
#include "net/upstream_tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

namespace bulwark::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using internal::kAwait;

struct Target {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  uint16_t port_number = 0;  // 0 if `port` is not one
  std::string path_and_query;
};

Result<Target> ParseTarget(std::string_view url, bool allow_plain_http = false) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return Err(InvalidArgumentError("not an absolute URL"));
  Target t;
  const std::string scheme = std::string(parsed->scheme());
  if (scheme != "https" && scheme != "http") {
    return Err(InvalidArgumentError("URL scheme must be https (or http to loopback)"));
  }
  t.tls = scheme == "https";
  if (parsed->has_userinfo() || parsed->has_fragment() || !parsed->has_authority()) {
    return Err(InvalidArgumentError("URL must name a host, without user info or fragment"));
  }
  // The authority and what follows, read here: Boost.URL (1.81) takes a
  // host that begins with an IPv4 address for that address and drops the
  // rest (`127.0.0.1.evil:8443` would be 127.0.0.1, port 80), so its
  // pieces are used only where they match the URL's own.
  std::string_view rest = url.substr(url.find("//") + 2);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  rest.remove_prefix(authority.size());
  if (rest.find('#') != std::string_view::npos || !std::ranges::all_of(rest, [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
      })) {
    return Err(InvalidArgumentError("URL path or query is malformed"));
  }
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.starts_with('[')) {  // an IPv6 address, which Boost.URL reads whole
    if (authority != parsed->encoded_authority()) {
      return Err(InvalidArgumentError("URL authority is malformed"));
    }
    // Sliced from the URL itself: Boost.URL's host_address() is a
    // temporary.
    const size_t close = authority.find(']');
    host = authority.substr(1, close - 1);
    if (authority.size() > close + 1) port = authority.substr(close + 2);  // past "]:"
  } else {
    if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      host = authority.substr(0, colon);
    }
    // A DNS name or an IPv4 address, as written (no percent-encoding); a
    // name may hold `_`, as the names of Docker's networks and hosts files
    // do.
    if (host.empty() || !std::ranges::all_of(host, [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' ||
                 c == '_';
        })) {
      return Err(InvalidArgumentError("URL host is malformed"));
    }
  }
  if (host.empty()) return Err(InvalidArgumentError("URL has no host"));
  t.host = std::string(host);
  if (port) {
    // Digits only (from_chars would take a sign), 1 to 65535.
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), number);
    if (port->empty() || !std::isdigit(static_cast<unsigned char>(port->front())) ||
        ec != std::errc() || end != port->data() + port->size() || number == 0 || number > 65535) {
      return Err(InvalidArgumentError("URL port is malformed"));
    }
    t.port = std::string(*port);
    t.port_number = static_cast<uint16_t>(number);
  } else {
    t.port = t.tls ? "443" : "80";
    t.port_number = t.tls ? 443 : 80;
  }
  t.path_and_query =
      rest.empty() || rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  if (!t.tls && !allow_plain_http) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(t.host, ec);
    const bool loopback = t.host == "localhost" || (!ec && address.is_loopback());
    if (!loopback) return Err(InvalidArgumentError("plain http is allowed only to loopback"));
  }
  return t;
}

Result<FetchedResponse> FailedRead(const beast::error_code& ec) {
  if (ec == asio::error::operation_aborted || ec == beast::error::timeout) {
    return Err(DeadlineExceededError("timed out"));
  }
  return Err(UnavailableError("reading the response failed: " + ec.message()));
}

// After a head read alone, the body is read and dropped, and the service's
// close waited for when it said it would close (over TLS its close_notify
// follows the body), so that this side closes with nothing left unread: a
// socket closed with bytes unread makes the kernel send a reset, which a
// service logs as an error on every check. At most kDrainLimit bytes, for
// at most kDrainTime (and never past the exchange's deadline); a longer or
// slower body is left, and reset.
constexpr size_t kDrainLimit = 1 << 20;
constexpr std::chrono::milliseconds kDrainTime(500);

// The status and content type, read from the head; the body is dropped,
// whatever it says.
template <class Stream>
asio::awaitable<Result<FetchedResponse>> ReadHeadThenDrain(
    Stream& stream, beast::flat_buffer& buffer, bool head_request,
    std::chrono::steady_clock::time_point deadline) {
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  parser.skip(head_request);  // an answer to HEAD has none
  auto [head_ec, head] = co_await http::async_read_header(stream, buffer, parser, kAwait);
  if (head_ec) co_return FailedRead(head_ec);
  FetchedResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = std::string(parser.get()[http::field::content_type]);
  beast::get_lowest_layer(stream).expires_at(
      std::min(deadline, std::chrono::steady_clock::now() + kDrainTime));
  std::array<char, 8192> scratch;
  size_t drained = 0;
  while (!parser.is_done() && drained < kDrainLimit) {
    parser.get().body().data = scratch.data();
    parser.get().body().size = scratch.size();
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAwait);
    if (ec && ec != http::error::need_buffer) co_return out;  // the head has decided
    drained += scratch.size() - parser.get().body().size;
  }
  if (parser.is_done() && !parser.get().keep_alive()) {
    for (;;) {  // until the close (an error: end of stream, or the time up)
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kAwait);
      if (ec) break;
    }
  }
  co_return out;
}

template <class Stream>
asio::awaitable<Result<FetchedResponse>> Exchange(Stream& stream, const Target& target,
                                                  const FetchOptions& options,
                                                  std::chrono::steady_clock::time_point deadline) {
  http::request<http::string_body> request(http::string_to_verb(options.method),
                                           target.path_and_query, 11);
  if (request.method() == http::verb::unknown) {
    co_return Err(InvalidArgumentError("unknown method " + options.method));
  }
  const bool default_port = target.port == (target.tls ? "443" : "80");
  std::string host =
      target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
  request.set(http::field::host, default_port ? host : host + ":" + target.port);
  request.set(http::field::user_agent, "bulwark");
  request.set(http::field::accept, "application/json");
  request.set(http::field::connection, "close");
  if (!options.bearer_token.empty()) {
    request.set(http::field::authorization, "Bearer " + options.bearer_token);
  }
  if (!options.body.empty() || options.method != "GET") {
    if (!options.content_type.empty()) request.set(http::field::content_type, options.content_type);
    request.body() = options.body;
    request.prepare_payload();
  }
  auto [write_ec, written] = co_await http::async_write(stream, request, kAwait);
  if (write_ec)
    co_return Err(UnavailableError("sending the request failed: " + write_ec.message()));
  beast::flat_buffer buffer;
  if (options.head_only) {
    co_return co_await ReadHeadThenDrain(stream, buffer, request.method() == http::verb::head,
                                         deadline);
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_body_bytes);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kAwait);
  if (read_ec == http::error::body_limit) {
    co_return Err(ResourceExhaustedError("response body over the limit"));
  }
  if (read_ec) co_return FailedRead(read_ec);
  auto& response = parser.get();
  FetchedResponse out;
  out.status = static_cast<int>(response.result_int());
  out.content_type = std::string(response[http::field::content_type]);
  out.body = std::move(response.body());
  co_return out;
}

// `endpoints` were resolved for target.host; `timeout` is what is left of
// options.timeout for the rest of the exchange.
asio::awaitable<Result<FetchedResponse>> Fetch(Target target, std::vector<tcp::endpoint> endpoints,
                                               std::chrono::milliseconds timeout,
                                               FetchOptions options) {
  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream tcp_stream(executor);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const beast::error_code connect_ec =
      co_await internal::ConnectInTurn(tcp_stream, endpoints, deadline);
  if (connect_ec == beast::error::timeout)
    co_return Err(DeadlineExceededError("connect timed out"));
  if (connect_ec) co_return Err(UnavailableError("cannot connect: " + connect_ec.message()));
  if (!target.tls) co_return co_await Exchange(tcp_stream, target, options, deadline);

  // Held for the stream's life.
  std::shared_ptr<asio::ssl::context> context;
  if (options.tls_context != nullptr) {
    context = options.tls_context->Current();
  } else {
    auto built = internal::BuildClientContext(options.ca_file, options.cert_file, options.key_file);
    if (!built) co_return Err(built.error());
    context = std::move(*built);
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *context);
  const std::string& peer_name = options.server_name.empty() ? target.host : options.server_name;
  if (!internal::ExpectPeerName(stream.native_handle(), peer_name)) {
    co_return Err(
        UnavailableError("cannot check " + target.host + "'s certificate for '" + peer_name + "'"));
  }
  auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kAwait);
  if (handshake_ec == beast::error::timeout) co_return Err(DeadlineExceededError("TLS timed out"));
  if (handshake_ec) {
    co_return Err(UnavailableError("TLS handshake with " + target.host +
                                   " failed: " + handshake_ec.message()));
  }
  co_return co_await Exchange(stream, target, options, deadline);
}

}  // namespace

Status CheckFetchUrl(std::string_view url, bool allow_plain_http) {
  Result<Target> target = ParseTarget(url, allow_plain_http);
  return target ? OkStatus() : target.error();
}

Result<FetchedResponse> FetchUrl(std::string_view url, const FetchOptions& options) {
  BULWARK_ASSIGN_OR_RETURN(Target target, ParseTarget(url, options.allow_plain_http));
  // The name lookup counts against the deadline too (the resolver may hang).
  const auto start = std::chrono::steady_clock::now();
  std::vector<tcp::endpoint> endpoints;
  if (options.connect_addresses.empty()) {
    BULWARK_ASSIGN_OR_RETURN(
        endpoints, ResolveWithin(target.host, target.port, options.timeout, options.stop));
    // "localhost" passed ParseTarget by its name; what it resolves to must
    // be loopback too (RFC 6761 lets no resolver be trusted to say so: a
    // hosts file or a DNS search domain may send it elsewhere), or keys
    // fetched in plain text could come from anyone on the way.
    if (!target.tls && !options.allow_plain_http &&
        std::any_of(endpoints.begin(), endpoints.end(),
                    [](const tcp::endpoint& e) { return !e.address().is_loopback(); })) {
      return Err(InvalidArgumentError("plain http is allowed only to loopback, and " + target.host +
                                      " resolves elsewhere"));
    }
  } else {
    if (target.port_number == 0) return Err(InvalidArgumentError("URL port is not a number"));
    for (const std::string& text : options.connect_addresses) {
      boost::system::error_code bad;
      const asio::ip::address address = asio::ip::make_address(text, bad);
      if (bad) return Err(InvalidArgumentError("connect address is not an IP address"));
      if (!target.tls && !options.allow_plain_http && !address.is_loopback()) {
        return Err(InvalidArgumentError("plain http is allowed only to loopback"));
      }
      endpoints.emplace_back(address, target.port_number);
    }
  }
  const auto left = options.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start);
  if (left <= std::chrono::milliseconds(0)) return Err(DeadlineExceededError("timed out"));
  // A system error (no descriptor for the io_context's own) is told as
  // itself, so that a shortage of this process is seen as one.
  const auto system_failure = [](const boost::system::system_error& error) {
    return Err(UnavailableError("fetch failed: " + error.code().message()));
  };
  std::optional<asio::io_context> ioc;
  try {
    ioc.emplace(1);
  } catch (const boost::system::system_error& error) {
    return system_failure(error);
  }
  std::optional<Result<FetchedResponse>> result;
  // Destroyed before the io_context: a stop running it is waited for.
  std::stop_callback on_stop(options.stop, [&ioc] { ioc->stop(); });
  asio::co_spawn(*ioc, Fetch(std::move(target), std::move(endpoints), left, options),
                 [&](std::exception_ptr e, Result<FetchedResponse> r) {
                   if (!e) {
                     result = std::move(r);
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const boost::system::system_error& error) {
                     result = system_failure(error);
                   } catch (...) {
                     result = Err(InternalError("fetch failed unexpectedly"));
                   }
                 });
  if (!options.stop.stop_requested()) ioc->run();
  if (!result && options.stop.stop_requested()) {
    return Err(Status(StatusCode::kCancelled, "fetch stopped"));
  }
  if (!result) return Err(InternalError("fetch did not complete"));
  return std::move(*result);
}

}  // namespace bulwark::net
