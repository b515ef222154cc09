// Forward-auth called as a proxy calls it, for the gateway tests: the
// handler run to completion, and what an Envoy answer asks Envoy to remove.
#ifndef BULWARK_TESTS_GATEWAY_FORWARD_AUTH_CALL_H_
#define BULWARK_TESTS_GATEWAY_FORWARD_AUTH_CALL_H_

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "gateway/forward_auth.h"

namespace bulwark::gateway::testing {

// Forward-auth on, for proxies on this host.
inline ForwardAuthOptions LoopbackForwardAuth() {
  return {.enabled = true,
          .trusted_proxies = {*CidrRange::Parse("127.0.0.0/8"), *CidrRange::Parse("::1/128")}};
}

// HandleForwardAuth run to completion on an io_context of its own.
inline std::optional<net::HttpResponse> RunForwardAuth(
    const Gateway& gateway, const ForwardAuthOptions& options, const net::HttpRequest& request,
    const IdentityTokenSigner* identity = nullptr, DecisionRecorder* recorder = nullptr) {
  boost::asio::io_context ioc;
  std::optional<net::HttpResponse> out;
  boost::asio::co_spawn(ioc, HandleForwardAuth(gateway, options, request, recorder, identity),
                        [&](std::exception_ptr e, std::optional<net::HttpResponse> response) {
                          if (e) std::rethrow_exception(e);
                          out = std::move(response);
                        });
  ioc.run();
  return out;
}

// The names an Envoy ext_authz answer asks Envoy to remove from the request
// (x-envoy-auth-headers-to-remove), in the order listed.
inline std::vector<std::string> RemovalsAskedOfEnvoy(const net::HttpResponse& answer) {
  std::vector<std::string> names;
  for (const auto& [name, value] : answer.headers) {
    if (name != "x-envoy-auth-headers-to-remove") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (item.starts_with(' ')) item.remove_prefix(1);
      names.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return names;
}

// Whether `names` has `name`.
inline bool Lists(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace bulwark::gateway::testing

#endif  // BULWARK_TESTS_GATEWAY_FORWARD_AUTH_CALL_H_
