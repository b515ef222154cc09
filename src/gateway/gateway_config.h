// The `gateway:` section of bulwark.yaml, validated into GatewayOptions.
//
//   gateway:
//     realm: bulwark
//     request_id: generate                 # or preserve (a well-formed X-Request-Id), off
//     pre_auth_rate_limit: {limit: 50, window_ms: 1000}   # per client address
//     trusted_proxies: [10.0.0.0/24]        # load balancers in front (default: none)
//     forward_auth:
//       trusted_proxies: [127.0.0.1/32]      # default: loopback only
//     audit: {file: audit.jsonl, fsync: none}  # or every_batch; relative to this file
//     upstreams:
//       - {name: orders, address: 127.0.0.1:9000, connect_timeout_ms: 2000,
//          response_timeout_ms: 30000,
//          circuit_breaker: {failures: 5, open_ms: 5000, probes: 1}}
//     issuers:
//       - name: idp
//         issuer: https://idp.example
//         audiences: [api]
//         jwks_file: idp.jwks.json          # relative to the config file
//         typ: at+jwt                       # optional
//         leeway_seconds: 60
//         max_lifetime_seconds: 3600        # optional
//         roles_claim: realm_access.roles   # default: roles
//         forward_token: false              # the token goes on to the service
//     routes:
//       - name: orders-read
//         host: api.example                 # optional
//         path_prefix: /orders
//         methods: [GET, HEAD]              # optional
//         authn: {mode: any_of, credentials: [jwt], issuers: [idp]}
//         authz: {scopes: [orders:read], roles: [], principals: [],
//                 spiffe_trust_domains: [], allow_cidrs: [], deny_cidrs: []}
//         upstream: orders                  # reverse proxy target (optional)
//         rate_limit: {key: principal, algorithm: token_bucket, limit: 100,
//                      window_ms: 60000, burst: 20}    # key: client_ip, principal,
//                                                      # route, or header (+ header:)
#ifndef BULWARK_GATEWAY_GATEWAY_CONFIG_H_
#define BULWARK_GATEWAY_GATEWAY_CONFIG_H_

#include <string>

#include "audit/file_audit_sink.h"
#include "core/config.h"
#include "gateway/forward_auth.h"
#include "gateway/gateway.h"
#include "gateway/identity_token.h"
#include "gateway/reverse_proxy.h"

namespace bulwark::gateway {

struct GatewayConfig {
  GatewayOptions options;
  ForwardAuthOptions forward_auth;
  std::vector<UpstreamConfig> upstreams;
  std::optional<audit::FileAuditSinkOptions> audit;    // the decision audit file
  std::optional<IdentityTokenOptions> identity_token;  // signed identity to upstreams
};

// A list of addresses and CIDR ranges (empty if `node` is missing); each
// error names the entry.
Result<std::vector<CidrRange>> CidrList(const ConfigNode& node);

// The quota fields of a rate limit, {algorithm, limit, window_ms, burst},
// and its `max_keys` (the live keys held, about 150 bytes each).
Result<guard::RateLimitPolicy> RateLimitPolicyFromNode(const ConfigNode& node);
Result<size_t> RateLimitMaxKeysFromNode(const ConfigNode& node);

// An audit section: {file, fsync: none | every_batch}; a relative file is
// under `base_dir`.
Result<audit::FileAuditSinkOptions> AuditFromNode(const ConfigNode& audit,
                                                  const std::string& base_dir);

// Errors name file, line and field. `base_dir` resolves relative key files.
Result<GatewayConfig> GatewayConfigFromNode(const ConfigNode& node, const std::string& base_dir);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_GATEWAY_CONFIG_H_
