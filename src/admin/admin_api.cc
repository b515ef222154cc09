#include "admin/admin_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

#include "core/log.h"
#include "identity/static_token.h"
#include "jose/json.h"
#include "net/request_head.h"

namespace bulwark::admin {

namespace {

namespace json = boost::json;

constexpr std::string_view kAdminPrefix = "/_bulwark/admin/";
constexpr std::string_view kApiKeysPath = "/_bulwark/admin/v1/api-keys";
constexpr std::string_view kPoliciesPath = "/_bulwark/admin/v1/policies";
constexpr std::string_view kEntitiesPath = "/_bulwark/admin/v1/entities";
constexpr std::string_view kSchemaPath = "/_bulwark/admin/v1/schema";

net::HttpResponse Json(int status, const json::value& body) {
  return net::JsonResponse(status, json::serialize(body));
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
      return net::JsonError(404, "no such api key");
    case StatusCode::kInvalidArgument:
      return net::JsonError(400, status.message());  // names the bad field; holds no secret
    case StatusCode::kAborted:
      return net::JsonError(409, "conflicting change; try again");
    default:
      log::Error("admin.store_failed", {{"error", status.message()}});
      return net::JsonError(503, "store unavailable");
  }
}

// The HTTP status for a policy change that failed.
net::HttpResponse FromPolicyStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kInvalidArgument:  // where the policy text is wrong; holds no secret
      return net::JsonError(status.code() == StatusCode::kNotFound ? 404 : 400, status.message());
    case StatusCode::kAborted:
      return net::JsonError(409, "conflicting change; try again");
    default:
      log::Error("admin.store_failed", {{"error", status.message()}});
      return net::JsonError(503, "store unavailable");
  }
}

net::HttpResponse MethodNotAllowed(std::string_view allow) {
  net::HttpResponse r = net::JsonError(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// A request body's JSON, strictly (jose/json.h): a member named twice is
// refused, where a lenient parser keeps one copy and a proxy or log in
// front may have read the other.
Result<json::value> ParseBody(std::string_view body) {
  return jose::ParseJson(body, {.max_bytes = body.size(), .max_depth = 16, .max_members = 4096});
}

// {"text": "..."} from a JSON body.
Result<std::string> TextFromJson(std::string_view body) {
  const Result<json::value> value = ParseBody(body);
  const json::object* o = value ? value->if_object() : nullptr;
  if (o == nullptr || o->size() != 1 || !o->contains("text") || !o->at("text").is_string()) {
    return Err(InvalidArgumentError("body: expected {\"text\": \"...\"}"));
  }
  return std::string(o->at("text").get_string());
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
  const Result<json::value> value = ParseBody(body);
  if (!value || !value->is_object()) {
    return Err(InvalidArgumentError("body: expected a JSON object, each member once"));
  }
  identity::ApiKeySpec spec;
  for (const auto& [field, v] : value->as_object()) {
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

}  // namespace

Result<std::string> HashAdminToken(std::string_view token) {
  return identity::HashStaticToken(token, "the admin token");
}

bool AdminApi::TakesBodyAt(std::string_view path) { return path.starts_with(kAdminPrefix); }

bool AdminApi::PeerAllowed(const net::HttpRequest& request) const {
  return !options_.peer_allowed || options_.peer_allowed(request.remote_address);
}

bool AdminApi::TokenAccepted(const net::HttpRequest& request) const {
  return PeerAllowed(request) &&
         identity::StaticTokenMatches(net::BearerTokenOf(request), options_.token_sha256);
}

std::optional<net::HttpResponse> AdminApi::Handle(const net::HttpRequest& request,
                                                  std::string_view path) const {
  // Judged on the normalized path, as the gateway judges its routes.
  if (!TakesBodyAt(path)) return std::nullopt;
  const auto start = std::chrono::steady_clock::now();
  std::string audit_reason;
  net::HttpResponse response;
  const std::string_view token = net::BearerTokenOf(request);
  // The address first: from elsewhere, even the right token would not do.
  const bool peer_allowed = PeerAllowed(request);
  const bool authenticated =
      peer_allowed && identity::StaticTokenMatches(token, options_.token_sha256);
  if (!peer_allowed) {
    response = net::JsonError(403, "the admin API is not open to this address");
    audit_reason = "admin API not open to this address";
  } else if (!authenticated) {
    response = net::BearerRefusal(request, "bulwark-admin", "admin token required");
    audit_reason = token.empty() ? "admin token missing" : "admin token invalid";
  } else {
    response = Dispatch(request, path, audit_reason);
  }

  if (audit_ != nullptr && !audit_reason.empty()) {
    audit::AuditEvent event;
    event.time = clock_.Now();
    event.request_id = request.request_id;
    if (authenticated) {
      event.subject = "admin";
      event.credential_kind = "admin_token";
    }
    event.action = request.method;
    event.resource = std::string(path);
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
    net::HttpResponse r = net::JsonError(405, "method not allowed");
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
    net::HttpResponse r = net::JsonError(405, "method not allowed");
    r.headers.emplace_back("Allow", "GET, DELETE");
    return r;
  }
  if (path == kPoliciesPath || path.starts_with(std::string(kPoliciesPath) + "/") ||
      path == kEntitiesPath || path == kSchemaPath) {
    if (policies_ == nullptr) {
      return net::JsonError(404, "policies are not managed through the store (policy.store)");
    }
    return DispatchPolicy(request, path, audit_reason);
  }
  return net::JsonError(404, "not found");
}

net::HttpResponse AdminApi::DispatchPolicy(const net::HttpRequest& request, std::string_view path,
                                           std::string& audit_reason) const {
  const std::string& method = request.method;
  const bool writes = method == "PUT";
  if (writes && !net::IsJsonContentType(request.Header("Content-Type").value_or(""))) {
    return net::JsonError(415, "Content-Type must be application/json");
  }
  auto answer = [&](Result<int64_t> revision, std::string what) {
    if (!revision) return FromPolicyStatus(revision.error());
    audit_reason = std::move(what);
    return Json(200, json::object{{"revision", *revision}});
  };
  if (path == kPoliciesPath) {
    if (method != "GET") return MethodNotAllowed("GET");
    Result<policy::PolicyDocuments> documents = policies_->Read();
    if (!documents) return FromPolicyStatus(documents.error());
    json::array items;
    for (const auto& [name, text] : documents->policies) {
      items.emplace_back(json::object{{"name", name}, {"text", text}});
    }
    return Json(200,
                json::object{{"revision", policies_->revision()}, {"documents", std::move(items)}});
  }
  if (path == kEntitiesPath) {
    if (method == "GET") {
      Result<policy::PolicyDocuments> documents = policies_->Read();
      if (!documents) return FromPolicyStatus(documents.error());
      net::HttpResponse r = net::JsonResponse(200, documents->entities);
      return r;
    }
    if (method == "PUT") return answer(policies_->PutEntities(request.body), "entities replaced");
    return MethodNotAllowed("GET, PUT");
  }
  if (path == kSchemaPath) {
    if (method == "GET") {
      Result<policy::PolicyDocuments> documents = policies_->Read();
      if (!documents) return FromPolicyStatus(documents.error());
      if (!documents->schema) return net::JsonError(404, "no schema");
      return Json(200, json::object{{"text", *documents->schema}});
    }
    if (method == "PUT") {
      Result<std::string> text = TextFromJson(request.body);
      if (!text) return net::JsonError(400, text.error().message());
      return answer(policies_->PutSchema(*text), "schema replaced");
    }
    if (method == "DELETE") return answer(policies_->DeleteSchema(), "schema deleted");
    return MethodNotAllowed("GET, PUT, DELETE");
  }
  const std::string_view name = path.substr(kPoliciesPath.size() + 1);
  if (method == "GET") {
    Result<policy::PolicyDocuments> documents = policies_->Read();
    if (!documents) return FromPolicyStatus(documents.error());
    auto it = documents->policies.find(name);
    if (it == documents->policies.end()) return net::JsonError(404, "no such policy document");
    return Json(200, json::object{{"name", name}, {"text", it->second}});
  }
  if (method == "PUT") {
    Result<std::string> text = TextFromJson(request.body);
    if (!text) return net::JsonError(400, text.error().message());
    return answer(policies_->PutPolicies(name, *text), fmt::format("policies/{} written", name));
  }
  if (method == "DELETE") {
    return answer(policies_->DeletePolicies(name), fmt::format("policies/{} deleted", name));
  }
  return MethodNotAllowed("GET, PUT, DELETE");
}

net::HttpResponse AdminApi::CreateApiKey(const net::HttpRequest& request,
                                         std::string& audit_reason) const {
  if (!net::IsJsonContentType(request.Header("Content-Type").value_or(""))) {
    return net::JsonError(415, "Content-Type must be application/json");
  }
  Result<identity::ApiKeySpec> spec = SpecFromJson(request.body);
  if (!spec) return net::JsonError(400, spec.error().message());
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
