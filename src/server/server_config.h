// The configuration of a Bulwark process (bulwark.yaml), validated at load.
// Every error names the file, line and field; unknown fields are refused.
#ifndef BULWARK_SERVER_SERVER_CONFIG_H_
#define BULWARK_SERVER_SERVER_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "admin/admin_api.h"
#include "core/config.h"
#include "core/log.h"
#include "core/status.h"
#include "gateway/gateway_config.h"
#include "gateway/ip_address.h"
#include "guard/rate_limit_policy.h"
#include "guard/rate_limiter.h"
#include "net/tls.h"

namespace bulwark::server {

struct ListenerConfig {
  std::string host = "127.0.0.1";
  // `server.metrics_allow`: the peers /metrics answers (others get 403). It
  // names upstream endpoints and routes, so by default loopback only: a
  // load balancer on a private network would make every client a private
  // peer.
  std::vector<gateway::CidrRange> metrics_allow;
  // Whether /metrics answers the peer at `address`.
  bool MetricsAllowed(std::string_view address) const {
    const std::optional<gateway::IpAddress> ip = gateway::IpAddress::Parse(address);
    return ip && gateway::AnyContains(metrics_allow, *ip);
  }
  uint16_t port = 8080;
  int threads = 0;  // 0 = hardware concurrency
  std::chrono::milliseconds drain_timeout{5000};
  // `server.shutdown_delay_ms`: on SIGTERM/SIGINT, how long the server goes
  // on serving, /readyz answering 503, before it stops taking connections
  // and drains, so that a load balancer probing /readyz stops sending
  // first (Envoy's drain time, a Kubernetes preStop sleep). 0: at once.
  std::chrono::milliseconds shutdown_delay{0};
  // Open connections one client address may hold; 0 = no cap. Raise it when
  // a proxy in front of Bulwark (nginx auth_request) funnels many clients.
  size_t max_connections_per_client = 256;
  // `server.max_connections`: open client connections in all; at the cap
  // an idle one is closed to make room for a new one, else the new one is
  // closed. Each proxied request also holds a connection to its service, so
  // the process needs about twice this many file descriptors.
  size_t max_connections = 10'000;
  // `server.max_request_line_bytes`, `max_header_bytes` and
  // `max_header_fields`: the largest request line (414 beyond it), header
  // section and number of fields (431). The header section may hold what
  // nginx's default buffers take (4 x 8 KiB) with the fields nginx adds to
  // its auth_request call, so that forward-auth behind nginx is not asked
  // about requests nginx itself accepted (nginx turns a 431 from
  // auth_request into 500); 64 KiB, near Envoy's 60 KiB.
  size_t max_request_line = 8 << 10;
  size_t max_header_bytes = 64 << 10;
  size_t max_header_count = 100;
  // `server.max_body_bytes`: the largest request body (413 beyond it; at
  // most 1 TiB, and 256 MiB for a body held whole).
  size_t max_body_bytes = 1 << 20;
  // `server.max_held_body_bytes`: a proxied request's body up to this, by
  // its Content-Length, is read whole before the request is decided; a
  // larger or chunked one streams to the service once the request is
  // allowed (100 Continue only then). At least max_body_bytes holds every
  // body, as a buffering proxy does. Bulwark's own endpoints always take
  // bodies whole.
  size_t max_held_body_bytes = 64 << 10;
  // `server.min_body_bytes_per_second`: a streamed body slower than this on
  // average, after five seconds' grace and counting only the time spent
  // waiting for it, is cut (408); 0 = no least rate.
  uint64_t min_body_bytes_per_second = 240;
  // `server.io_uring`: each io thread hands the sends of one pass on plain
  // sockets to the kernel together through io_uring where the kernel allows
  // it; false keeps to one system call each (for hosts that forbid io_uring
  // by policy, or filter system calls by killing the process).
  bool io_uring = true;
  // `server.busy_poll_us`: once an io thread has no work left, it polls for
  // more this long before it sleeps (0 = sleeps at once; at most 1000).
  std::chrono::microseconds busy_poll{0};
  // `server.tls`: TLS (and mTLS) on the listener; plaintext if absent.
  std::optional<net::TlsServerOptions> tls;
  // `server.tls.handshakes_per_client`: the TLS handshakes one client
  // address (an IPv4 address, an IPv6 /64) may begin, as a rate limit; a
  // connection over it is closed before its handshake. With TLS, 256 a
  // second by default (a token bucket); "off" (nullopt) for no limit.
  std::optional<guard::RateLimitPolicy> handshake_limit;
  size_t handshake_limit_max_keys = guard::RateLimiterOptions::kDefaultMaxKeys;
};

struct StoreConfig {
  std::string backend = "sqlite";  // "sqlite" or "memory"
  std::string path = "bulwark.db";
};

// The `policy:` section: the Cedar policies and entities, and the token of
// the decision API (POST /v1/authorize).
struct PolicyConfig {
  // True: policies, entities and schema live in the store and change through
  // the admin API; the files (if any) seed an empty store.
  bool store = false;
  std::string policies_file;  // required unless `store`
  std::string entities_file;  // empty: no entities
  // Empty: no schema. Else policies must validate against it, and entities
  // and each request's context are read through it.
  std::string schema_file;
  std::string api_token_sha256;
};

// The `relations:` section: relationship tuples and their model, in the
// store, served by the relations API (POST /v1/relations/...).
struct RelationsConfig {
  std::string model_file;  // OpenFGA DSL; seeds a store that holds no model
  std::string api_token_sha256;
  std::chrono::milliseconds consistency_wait{2000};
};

// The `authzen:` section: the AuthZEN Authorization API (/access/v1/...),
// answered by the Cedar policies (`policy:`) or the relations (`relations:`).
struct AuthzenConfig {
  std::string engine;  // "cedar" or "relations"
  std::string api_token_sha256;
  std::string policy_decision_point;  // metadata document's base URL; "" = none
  std::string cedar_action_type = "Action";
};

struct ServerConfig {
  ListenerConfig listener;
  StoreConfig store;
  log::Level log_level = log::Level::kInfo;
  // Where every decision is audited (gateway, decision API, admin API): the
  // top-level `audit:` section, or the older `gateway.audit`.
  std::optional<audit::FileAuditSinkOptions> audit;
  // The `gateway:` section, if present.
  std::optional<gateway::GatewayConfig> gateway;
  // The `admin:` section (the admin API), if present.
  std::optional<admin::AdminOptions> admin;
  // The `policy:` section (the Cedar decision point), if present.
  std::optional<PolicyConfig> policy;
  std::optional<RelationsConfig> relations;
  std::optional<AuthzenConfig> authzen;
};

// Reads and validates a config file.
Result<ServerConfig> LoadServerConfig(const std::string& file);
// Validates an already parsed document; `base_dir` resolves relative files.
Result<ServerConfig> ServerConfigFromNode(const ConfigNode& root,
                                          const std::string& base_dir = ".");

}  // namespace bulwark::server

#endif  // BULWARK_SERVER_SERVER_CONFIG_H_
