#include "admin/admin_api.h"

#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

#include "core/log.h"
#include "crypto/constant_time.h"
#include "crypto/digest.h"
#include "net/request_head.h"
#include "net/request_path.h"

namespace bulwark::admin {

namespace {

namespace json = boost::json;

constexpr std::string_view kAdminPrefix = "/_bulwark/admin/";
constexpr std::string_view kApiKeysPath = "/_bulwark/admin/v1/api-keys";
constexpr size_t kMinTokenLength = 32;

net::HttpResponse Json(int status, const json::value& body) {
  return {.status = status,
          .headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
          .body = json::serialize(body) + "\n"};
}

net::HttpResponse Error(int status, std::string_view message) {
  return Json(status, json::object{{"error", message}});
}

json::object ToJson(const identity::ApiKey& key) {
  json::object o;
  o["id"] = key.id;
  o["name"] = key.name;
  o["subject"] = key.subject;
  json::array scopes;
  for (const auto& s : key.scopes) scopes.emplace_back(s);
  json::array roles;
  for (const auto& r : key.roles) roles.emplace_back(r);
  o["scopes"] = std::move(scopes);
  o["roles"] = std::move(roles);
  o["created_at"] = key.created_at;
  o["expires_at"] = key.expires_at ? json::value(*key.expires_at) : json::value(nullptr);
  o["revoked_at"] = key.revoked_at ? json::value(*key.revoked_at) : json::value(nullptr);
  return o;
}

// The HTTP status for a store or service error; the message stays in logs.
net::HttpResponse FromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return Error(404, "no such api key");
    case StatusCode::kInvalidArgument:
      return Error(400, status.message());  // names the bad field; holds no secret
    case StatusCode::kAborted:
      return Error(409, "conflicting change; try again");
    default:
      log::Error("admin.store_failed", {{"error", status.message()}});
      return Error(503, "store unavailable");
  }
}

Result<std::vector<std::string>> Strings(const json::value& value, std::string_view field) {
  if (!value.is_array()) return Err(InvalidArgumentError(std::string(field) + ": expected a list"));
  std::vector<std::string> out;
  for (const json::value& item : value.as_array()) {
    if (!item.is_string()) {
      return Err(InvalidArgumentError(std::string(field) + ": expected strings"));
    }
    out.emplace_back(item.as_string());
  }
  return out;
}

Result<identity::ApiKeySpec> SpecFromJson(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return Err(InvalidArgumentError("body: expected a JSON object"));
  identity::ApiKeySpec spec;
  for (const auto& [field, v] : value.as_object()) {
    if (field == "name" && v.is_string()) {
      spec.name = std::string(v.as_string());
    } else if (field == "subject" && v.is_string()) {
      spec.subject = std::string(v.as_string());
    } else if (field == "scopes") {
      BULWARK_ASSIGN_OR_RETURN(spec.scopes, Strings(v, "scopes"));
    } else if (field == "roles") {
      BULWARK_ASSIGN_OR_RETURN(spec.roles, Strings(v, "roles"));
    } else if (field == "ttl_seconds" && v.is_int64()) {
      spec.ttl = std::chrono::seconds(v.as_int64());
    } else if (field == "name" || field == "subject" || field == "ttl_seconds") {
      return Err(InvalidArgumentError(std::string(field) + ": wrong type"));
    } else {
      return Err(InvalidArgumentError(std::string(field) + ": unknown field"));
    }
  }
  BULWARK_RETURN_IF_ERROR(identity::ValidateApiKeySpec(spec));
  return spec;
}

bool IsJson(std::string_view content_type) {
  const std::string_view media = content_type.substr(0, content_type.find(';'));
  std::string_view trimmed = media;
  while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
  return net::EqualsIgnoreCase(trimmed, "application/json");
}

}  // namespace

Result<std::string> HashAdminToken(std::string_view token) {
  if (token.size() < kMinTokenLength) {
    return Err(InvalidArgumentError("the admin token must be at least 32 characters"));
  }
  if (std::any_of(token.begin(), token.end(), [](char c) { return c <= 0x20 || c == 0x7f; })) {
    return Err(
        InvalidArgumentError("the admin token must not hold whitespace or control characters"));
  }
  return crypto::Digest(crypto::HashAlgorithm::kSha256, token);
}

std::optional<net::HttpResponse> AdminApi::Handle(const net::HttpRequest& request) const {
  // Judged on the normalized path, as the gateway judges its routes.
  Result<net::NormalizedTarget> target = net::NormalizeRequestTarget(request.target);
  if (!target || !target->path.starts_with(kAdminPrefix)) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  std::string audit_reason;
  net::HttpResponse response;
  bool authenticated = false;

  const std::optional<std::string_view> authorization = request.Header("Authorization");
  std::string_view token;
  if (authorization && request.HeaderCount("Authorization") == 1 && authorization->size() > 7 &&
      net::EqualsIgnoreCase(authorization->substr(0, 7), "Bearer ")) {
    token = authorization->substr(7);
  }
  // Hashing both sides gives equal lengths, so the comparison leaks nothing.
  if (!token.empty() &&
      crypto::ConstantTimeEquals(crypto::Digest(crypto::HashAlgorithm::kSha256, token),
                                 options_.token_sha256)) {
    authenticated = true;
  }
  if (!authenticated) {
    response = Error(401, "admin token required");
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"bulwark-admin\"");
    audit_reason = token.empty() ? "admin token missing" : "admin token invalid";
  } else {
    response = Dispatch(request, target->path, audit_reason);
  }

  if (audit_ != nullptr && !audit_reason.empty()) {
    audit::AuditEvent event;
    event.time = clock_.Now();
    if (authenticated) {
      event.subject = "admin";
      event.credential_kind = "admin_token";
    }
    event.action = request.method;
    event.resource = target->path;
    event.route = "admin";
    event.host = std::string(request.Header("Host").value_or(""));
    event.client_ip = request.remote_address;
    event.decision =
        response.status < 300 ? audit::AuditDecision::kAllow : audit::AuditDecision::kDeny;
    event.status = response.status;
    event.reason = std::move(audit_reason);
    event.latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    (void)audit_->TryEnqueue(std::move(event));
  }
  return response;
}

net::HttpResponse AdminApi::Dispatch(const net::HttpRequest& request, std::string_view path,
                                     std::string& audit_reason) const {
  const std::string& method = request.method;
  if (path == kApiKeysPath) {
    if (method == "POST") return CreateApiKey(request, audit_reason);
    if (method == "GET") {
      Result<std::vector<identity::ApiKey>> keys = api_keys_.List();
      if (!keys) return FromStatus(keys.error());
      json::array items;
      for (const auto& key : *keys) items.emplace_back(ToJson(key));
      return Json(200, json::object{{"api_keys", std::move(items)}});
    }
    net::HttpResponse r = Error(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET, POST");
    return r;
  }
  if (path.starts_with(kApiKeysPath) && path.size() > kApiKeysPath.size() + 1 &&
      path[kApiKeysPath.size()] == '/') {
    const std::string_view id = path.substr(kApiKeysPath.size() + 1);
    if (method == "GET") {
      Result<identity::ApiKey> key = api_keys_.Get(id);
      return key ? Json(200, ToJson(*key)) : FromStatus(key.error());
    }
    if (method == "DELETE") {
      Result<identity::ApiKey> key = api_keys_.Revoke(id);
      if (!key) return FromStatus(key.error());
      audit_reason = "api key revoked: " + key->id;
      return Json(200, ToJson(*key));
    }
    net::HttpResponse r = Error(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET, DELETE");
    return r;
  }
  return Error(404, "not found");
}

net::HttpResponse AdminApi::CreateApiKey(const net::HttpRequest& request,
                                         std::string& audit_reason) const {
  if (!IsJson(request.Header("Content-Type").value_or(""))) {
    return Error(415, "Content-Type must be application/json");
  }
  Result<identity::ApiKeySpec> spec = SpecFromJson(request.body);
  if (!spec) return Error(400, spec.error().message());
  auto created = api_keys_.Create(*spec);
  if (!created) return FromStatus(created.error());
  auto& [key, secret] = *created;
  audit_reason = "api key created: " + key.id;
  json::object body = ToJson(key);
  body["key"] = secret.ExposeSecretAsString();  // shown here once, never stored
  net::HttpResponse response = Json(201, body);
  response.headers.emplace_back("Location", std::string(kApiKeysPath) + "/" + key.id);
  return response;
}

}  // namespace bulwark::admin
