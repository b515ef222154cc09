#include "server/server_config.h"

#include <algorithm>
#include <filesystem>

#include "crypto/secret_bytes.h"
#include "identity/static_token.h"

namespace bulwark::server {

namespace {

// 127.0.0.0/8 and ::1: what /metrics and the admin API answer by default.
std::vector<gateway::CidrRange> LoopbackRanges() {
  return {*gateway::CidrRange::Parse("127.0.0.0/8"), *gateway::CidrRange::Parse("::1/128")};
}

std::string FromBase(const std::string& base_dir, const std::string& file) {
  if (file.empty()) return file;
  const std::filesystem::path path(file);
  return path.is_absolute() ? file : (std::filesystem::path(base_dir) / path).string();
}

// server.tls: cert_file, key_file, client_ca_file, crl_file, client_auth,
// min_version, groups, reload_interval_ms (and handshakes_per_client, read
// by HandshakeLimitFromNode).
Result<net::TlsServerOptions> TlsFromNode(const ConfigNode& node, const std::string& base_dir) {
  BULWARK_RETURN_IF_ERROR(node.CheckKeys({"cert_file", "key_file", "client_ca_file", "crl_file",
                                          "spiffe_bundles", "client_auth", "min_version", "groups",
                                          "reload_interval_ms", "handshakes_per_client"}));
  net::TlsServerOptions tls;
  BULWARK_ASSIGN_OR_RETURN(std::string cert, node["cert_file"].String());
  BULWARK_ASSIGN_OR_RETURN(std::string key, node["key_file"].String());
  BULWARK_ASSIGN_OR_RETURN(std::string ca, node["client_ca_file"].StringOr(""));
  BULWARK_ASSIGN_OR_RETURN(std::string crl, node["crl_file"].StringOr(""));
  tls.cert_file = FromBase(base_dir, cert);
  tls.key_file = FromBase(base_dir, key);
  tls.client_ca_file = FromBase(base_dir, ca);
  tls.crl_file = FromBase(base_dir, crl);
  std::string auth = "none";
  if (!node["client_auth"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(auth, node["client_auth"].Enum({"none", "optional", "required"}));
  }
  tls.client_auth = auth == "required"   ? net::ClientAuth::kRequired
                    : auth == "optional" ? net::ClientAuth::kOptional
                                         : net::ClientAuth::kNone;
  if (tls.client_auth != net::ClientAuth::kNone && tls.client_ca_file.empty()) {
    return Err(node["client_ca_file"].Error("is required when client_auth is " + auth));
  }
  if (tls.client_auth == net::ClientAuth::kNone && !tls.client_ca_file.empty()) {
    return Err(node["client_auth"].Error("set optional or required to use client_ca_file"));
  }
  if (!tls.crl_file.empty() && tls.client_ca_file.empty()) {
    return Err(node["crl_file"].Error("needs client_ca_file"));
  }
  // spiffe_bundles: {trust domain: CA file}, each domain a SPIFFE ID's.
  if (const ConfigNode bundles = node["spiffe_bundles"]; !bundles.IsMissing()) {
    if (!bundles.IsMap()) return Err(bundles.Error("must map trust domains to CA files"));
    if (tls.client_ca_file.empty()) return Err(bundles.Error("needs client_ca_file"));
    for (const std::string& domain : bundles.Keys()) {
      if (net::SpiffeTrustDomain("spiffe://" + domain) != domain) {
        return Err(bundles[domain].Error("is not a SPIFFE trust domain"));
      }
      BULWARK_ASSIGN_OR_RETURN(std::string file, bundles[domain].String());
      tls.spiffe_bundles.emplace_back(domain, FromBase(base_dir, file));
    }
  }
  if (!node["min_version"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string version, node["min_version"].Enum({"1.3", "1.2"}));
    tls.allow_tls12 = version == "1.2";
  }
  // groups: the key-exchange curves, most preferred first.
  if (const ConfigNode groups = node["groups"]; !groups.IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(tls.groups, groups.StringList());
    if (Status valid = net::ValidateTlsGroups(tls.groups); !valid.ok()) {
      return Err(groups.Error(valid.message()));
    }
  }
  BULWARK_ASSIGN_OR_RETURN(int64_t reload, node["reload_interval_ms"].IntOr(1000, 10, 3'600'000));
  tls.reload_interval = std::chrono::milliseconds(reload);
  return tls;
}

// server.tls.handshakes_per_client: "off", or a rate limit's fields
// (limit, window_ms, algorithm, burst, max_keys); 256 a second by default.
Status HandshakeLimitFromNode(const ConfigNode& node, ListenerConfig& listener) {
  listener.handshake_limit =
      guard::RateLimitPolicy{.limit = 256, .window = std::chrono::seconds(1)};
  if (!node.IsMissing()) {
    if (node.IsScalar()) {
      if (auto off = node.Enum({"off"}); !off) return off.error();
      listener.handshake_limit.reset();
      return OkStatus();
    }
    BULWARK_RETURN_IF_ERROR(
        node.CheckKeys({"algorithm", "limit", "window_ms", "burst", "max_keys"}));
    BULWARK_ASSIGN_OR_RETURN(listener.handshake_limit, gateway::RateLimitPolicyFromNode(node));
    BULWARK_ASSIGN_OR_RETURN(listener.handshake_limit_max_keys,
                             gateway::RateLimitMaxKeysFromNode(node));
  }
  listener.handshake_limit->name = "tls-handshakes";
  return OkStatus();
}

}  // namespace

Result<ServerConfig> ServerConfigFromNode(const ConfigNode& root, const std::string& base_dir) {
  ServerConfig cfg;
  BULWARK_RETURN_IF_ERROR(root.CheckKeys(
      {"server", "store", "log", "audit", "gateway", "admin", "policy", "relations", "authzen"}));

  ConfigNode server = root["server"];
  BULWARK_RETURN_IF_ERROR(server.CheckKeys(
      {"listen", "threads", "drain_timeout_ms", "shutdown_delay_ms", "max_connections",
       "max_connections_per_client", "max_body_bytes", "max_held_body_bytes",
       "min_body_bytes_per_second", "max_request_line_bytes", "max_header_bytes",
       "max_header_fields", "io_uring", "busy_poll_us", "tls", "metrics_allow"}));
  if (server["metrics_allow"].IsMissing()) {
    cfg.listener.metrics_allow = LoopbackRanges();
  } else {
    BULWARK_ASSIGN_OR_RETURN(cfg.listener.metrics_allow,
                             gateway::CidrList(server["metrics_allow"]));
  }
  if (!server["tls"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(cfg.listener.tls, TlsFromNode(server["tls"], base_dir));
    BULWARK_RETURN_IF_ERROR(
        HandshakeLimitFromNode(server["tls"]["handshakes_per_client"], cfg.listener));
  }
  BULWARK_ASSIGN_OR_RETURN(int64_t per_client,
                           server["max_connections_per_client"].IntOr(256, 0, 1'000'000));
  cfg.listener.max_connections_per_client = static_cast<size_t>(per_client);
  BULWARK_ASSIGN_OR_RETURN(int64_t connections,
                           server["max_connections"].IntOr(10'000, 1, 1'000'000));
  cfg.listener.max_connections = static_cast<size_t>(connections);
  BULWARK_ASSIGN_OR_RETURN(int64_t line,
                           server["max_request_line_bytes"].IntOr(8 << 10, 256, 64 << 10));
  cfg.listener.max_request_line = static_cast<size_t>(line);
  BULWARK_ASSIGN_OR_RETURN(int64_t head,
                           server["max_header_bytes"].IntOr(64 << 10, 1 << 10, 1 << 20));
  cfg.listener.max_header_bytes = static_cast<size_t>(head);
  BULWARK_ASSIGN_OR_RETURN(int64_t fields, server["max_header_fields"].IntOr(100, 1, 10'000));
  cfg.listener.max_header_count = static_cast<size_t>(fields);
  BULWARK_ASSIGN_OR_RETURN(int64_t body,
                           server["max_body_bytes"].IntOr(1 << 20, 0, int64_t{1} << 40));
  cfg.listener.max_body_bytes = static_cast<size_t>(body);
  BULWARK_ASSIGN_OR_RETURN(int64_t held,
                           server["max_held_body_bytes"].IntOr(64 << 10, 0, int64_t{1} << 40));
  cfg.listener.max_held_body_bytes = static_cast<size_t>(held);
  BULWARK_ASSIGN_OR_RETURN(int64_t rate,
                           server["min_body_bytes_per_second"].IntOr(240, 0, int64_t{1} << 40));
  cfg.listener.min_body_bytes_per_second = static_cast<uint64_t>(rate);
  if (std::min(body, held) > (int64_t{256} << 20)) {
    return Err(server["max_held_body_bytes"].Error(
        "bodies held whole must be at most 256 MiB: lower max_held_body_bytes or max_body_bytes"));
  }
  BULWARK_ASSIGN_OR_RETURN(std::string listen, server["listen"].StringOr("127.0.0.1:8080"));
  Status s = ParseHostPort(listen, &cfg.listener.host, &cfg.listener.port);
  if (!s.ok()) return Err(server["listen"].Error(s.message()));
  BULWARK_ASSIGN_OR_RETURN(int64_t threads, server["threads"].IntOr(0, 0, 256));
  cfg.listener.threads = static_cast<int>(threads);
  BULWARK_ASSIGN_OR_RETURN(int64_t drain, server["drain_timeout_ms"].IntOr(5000, 0, 600'000));
  cfg.listener.drain_timeout = std::chrono::milliseconds(drain);
  BULWARK_ASSIGN_OR_RETURN(int64_t delay, server["shutdown_delay_ms"].IntOr(0, 0, 600'000));
  cfg.listener.shutdown_delay = std::chrono::milliseconds(delay);
  BULWARK_ASSIGN_OR_RETURN(cfg.listener.io_uring, server["io_uring"].BoolOr(true));
  BULWARK_ASSIGN_OR_RETURN(int64_t busy_poll, server["busy_poll_us"].IntOr(0, 0, 1000));
  cfg.listener.busy_poll = std::chrono::microseconds(busy_poll);

  ConfigNode store = root["store"];
  BULWARK_RETURN_IF_ERROR(store.CheckKeys({"backend", "path"}));
  if (!store["backend"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(cfg.store.backend, store["backend"].Enum({"sqlite", "memory"}));
  }
  BULWARK_ASSIGN_OR_RETURN(cfg.store.path, store["path"].StringOr("bulwark.db"));
  if (cfg.store.backend == "sqlite" && cfg.store.path.empty()) {
    return Err(store["path"].Error("must not be empty for the sqlite backend"));
  }

  ConfigNode logcfg = root["log"];
  BULWARK_RETURN_IF_ERROR(logcfg.CheckKeys({"level"}));
  if (!logcfg["level"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(std::string level,
                             logcfg["level"].Enum({"debug", "info", "warn", "error"}));
    log::ParseLevel(level, &cfg.log_level);
  }
  if (ConfigNode admin = root["admin"]; !admin.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(admin.CheckKeys({"token", "allow"}));
    BULWARK_ASSIGN_OR_RETURN(std::string token, admin["token"].String());
    Result<std::string> hash = admin::HashAdminToken(token);
    crypto::WipeString(token);
    if (!hash) return Err(admin["token"].Error(hash.error().message()));
    std::vector<gateway::CidrRange> allow;
    if (admin["allow"].IsMissing()) {
      allow = LoopbackRanges();
    } else {
      BULWARK_ASSIGN_OR_RETURN(allow, gateway::CidrList(admin["allow"]));
      if (allow.empty()) return Err(admin["allow"].Error("names no address: leave out `admin:`"));
    }
    cfg.admin = admin::AdminOptions{
        .token_sha256 = std::move(*hash),
        .peer_allowed = [allow = std::move(allow)](std::string_view address) {
          const std::optional<gateway::IpAddress> ip = gateway::IpAddress::Parse(address);
          return ip.has_value() && gateway::AnyContains(allow, *ip);
        }};
  }
  if (ConfigNode policy = root["policy"]; !policy.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(
        policy.CheckKeys({"store", "policies_file", "entities_file", "schema_file", "api_token"}));
    PolicyConfig pc;
    BULWARK_ASSIGN_OR_RETURN(pc.store, policy["store"].BoolOr(false));
    BULWARK_ASSIGN_OR_RETURN(std::string policies, pc.store ? policy["policies_file"].StringOr("")
                                                            : policy["policies_file"].String());
    BULWARK_ASSIGN_OR_RETURN(std::string entities, policy["entities_file"].StringOr(""));
    pc.policies_file = policies.empty() ? "" : FromBase(base_dir, policies);
    pc.entities_file = FromBase(base_dir, entities);
    BULWARK_ASSIGN_OR_RETURN(std::string schema, policy["schema_file"].StringOr(""));
    pc.schema_file = FromBase(base_dir, schema);
    BULWARK_ASSIGN_OR_RETURN(std::string token, policy["api_token"].String());
    Result<std::string> hash = identity::HashStaticToken(token, "the decision API token");
    crypto::WipeString(token);
    if (!hash) return Err(policy["api_token"].Error(hash.error().message()));
    pc.api_token_sha256 = std::move(*hash);
    cfg.policy = std::move(pc);
  }
  if (ConfigNode relations = root["relations"]; !relations.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(
        relations.CheckKeys({"model_file", "api_token", "consistency_wait_ms"}));
    RelationsConfig rc;
    BULWARK_ASSIGN_OR_RETURN(std::string model, relations["model_file"].StringOr(""));
    rc.model_file = model.empty() ? "" : FromBase(base_dir, model);
    BULWARK_ASSIGN_OR_RETURN(int64_t wait, relations["consistency_wait_ms"].IntOr(2000, 0, 60'000));
    rc.consistency_wait = std::chrono::milliseconds(wait);
    BULWARK_ASSIGN_OR_RETURN(std::string token, relations["api_token"].String());
    Result<std::string> hash = identity::HashStaticToken(token, "the relations API token");
    crypto::WipeString(token);
    if (!hash) return Err(relations["api_token"].Error(hash.error().message()));
    rc.api_token_sha256 = std::move(*hash);
    cfg.relations = std::move(rc);
  }
  if (ConfigNode authzen = root["authzen"]; !authzen.IsMissing()) {
    BULWARK_RETURN_IF_ERROR(
        authzen.CheckKeys({"engine", "api_token", "policy_decision_point", "cedar_action_type"}));
    AuthzenConfig ac;
    BULWARK_ASSIGN_OR_RETURN(ac.engine, authzen["engine"].Enum({"cedar", "relations"}));
    if (ac.engine == "cedar" && !cfg.policy) {
      return Err(authzen["engine"].Error("the cedar engine needs a `policy:` section"));
    }
    if (ac.engine == "relations" && !cfg.relations) {
      return Err(authzen["engine"].Error("the relations engine needs a `relations:` section"));
    }
    BULWARK_ASSIGN_OR_RETURN(ac.policy_decision_point,
                             authzen["policy_decision_point"].StringOr(""));
    if (!ac.policy_decision_point.empty() &&
        (!ac.policy_decision_point.starts_with("https://") ||
         ac.policy_decision_point.find_first_of("?#") != std::string::npos)) {
      return Err(
          authzen["policy_decision_point"].Error("must be an https URL without query or fragment"));
    }
    while (ac.policy_decision_point.ends_with('/')) ac.policy_decision_point.pop_back();
    BULWARK_ASSIGN_OR_RETURN(ac.cedar_action_type, authzen["cedar_action_type"].StringOr("Action"));
    BULWARK_ASSIGN_OR_RETURN(std::string token, authzen["api_token"].String());
    Result<std::string> hash = identity::HashStaticToken(token, "the AuthZEN API token");
    crypto::WipeString(token);
    if (!hash) return Err(authzen["api_token"].Error(hash.error().message()));
    ac.api_token_sha256 = std::move(*hash);
    cfg.authzen = std::move(ac);
  }
  if (!root["gateway"].IsMissing()) {
    BULWARK_ASSIGN_OR_RETURN(cfg.gateway,
                             gateway::GatewayConfigFromNode(root["gateway"], base_dir));
  }
  if (ConfigNode audit = root["audit"]; !audit.IsMissing()) {
    if (cfg.gateway && cfg.gateway->audit) {
      return Err(audit.Error("give the audit file once: here or in gateway.audit"));
    }
    BULWARK_ASSIGN_OR_RETURN(cfg.audit, gateway::AuditFromNode(audit, base_dir));
  } else if (cfg.gateway && cfg.gateway->audit) {
    cfg.audit = cfg.gateway->audit;
  }
  return cfg;
}

Result<ServerConfig> LoadServerConfig(const std::string& file) {
  BULWARK_ASSIGN_OR_RETURN(ConfigNode root, LoadConfigFile(file));
  std::string base_dir = std::filesystem::path(file).parent_path().string();
  return ServerConfigFromNode(root, base_dir.empty() ? "." : base_dir);
}

}  // namespace bulwark::server
