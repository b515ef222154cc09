// Forward-auth: the gateway's decision offered to proxies that already sit
// in front of a service, so they can delegate authentication and
// authorization to Bulwark:
//
//   /auth/nginx    nginx `auth_request`. The original request comes as
//                  X-Original-Method, X-Original-URI and X-Original-Host (set
//                  by the nginx config: the subrequest's own Host is
//                  Bulwark's address). nginx accepts only 2xx, 401 and 403
//                  from an auth subrequest, so any other denial (400, 404,
//                  429) is answered 403 with the real status in
//                  X-Bulwark-Status; identity headers come back on 200 for
//                  `auth_request_set`, with the client's Authorization and
//                  X-Api-Key where the service may have them (a credential
//                  the gateway consumed is not repeated).
//   /auth/envoy/…  Envoy `ext_authz` HTTP service (path_prefix "/auth/envoy"):
//                  the original path follows the prefix, the method is the
//                  original one. 200 allows and carries the identity headers,
//                  and in x-envoy-auth-headers-to-remove the credential the
//                  gateway consumed and the identity headers it left unset,
//                  which Envoy removes from the request it forwards; any
//                  other status is passed through to the client.
//   /auth/traefik  Traefik ForwardAuth: X-Forwarded-Method, -Uri, -Host and
//                  -For. 2xx allows, with fields as for nginx; anything else
//                  is returned to the client.
//
// The endpoints are off unless the config has a `forward_auth` section,
// whose `trusted_proxies` must name the proxies: their fields are trusted,
// so anyone else gets 403. A call that does not say, once each and well
// formed, what method, target and host to decide is refused with 400. Every
// answer, refusals too, is audited and counted as a decision.
#ifndef BULWARK_GATEWAY_FORWARD_AUTH_H_
#define BULWARK_GATEWAY_FORWARD_AUTH_H_

#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "gateway/decision_recorder.h"
#include "gateway/gateway.h"
#include "gateway/identity_token.h"
#include "gateway/ip_address.h"
#include "net/http_server.h"

namespace bulwark::gateway {

struct ForwardAuthOptions {
  bool enabled = false;                    // off: /auth/... is an ordinary path
  std::vector<CidrRange> trusted_proxies;  // who may call; none when off
};

// True if `target`'s path is `/auth`, `/auth/`, or begins as one of the
// endpoints above does (`/auth/traefik/`, `/auth/envoyx`), whether or not
// they are enabled: with forward-auth on, such a path is Bulwark's, and one
// that is no endpoint is answered 404.
bool IsForwardAuthTarget(std::string_view target);

// The response for a forward-auth request, or nullopt if `request` is not for
// a forward-auth path or forward-auth is off. Thread-safe; runs on the caller's io thread. A token
// whose kid its issuer's remote keys lack waits for the refetch it starts, as
// on the reverse proxy (see key_refetch_wait.h).
// `recorder` (may be null) gets every decision made. With `identity`, an
// allowed answer for a principal carries its signed identity
// (X-Bulwark-Identity) for the route's upstream, else for the route's name;
// a token that cannot be signed refuses with 503.
boost::asio::awaitable<std::optional<net::HttpResponse>> HandleForwardAuth(
    const Gateway& gateway, const ForwardAuthOptions& options, const net::HttpRequest& request,
    DecisionRecorder* recorder = nullptr, const IdentityTokenSigner* identity = nullptr);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_FORWARD_AUTH_H_
