#include "pdp/decision_api.h"

#include <chrono>

#include <boost/json.hpp>

#include "net/request_head.h"
#include "pdp/api_guard.h"
#include "policy/cedar_parser.h"

namespace bulwark::pdp {

namespace {

namespace json = boost::json;
namespace cedar = policy::cedar;

constexpr std::string_view kAuthorizePath = "/v1/authorize";
constexpr std::string_view kBatchPath = "/v1/authorize/batch";

net::HttpResponse Json(int status, const json::value& body) {
  return net::JsonResponse(status, json::serialize(body));
}

Result<cedar::EntityUid> UidFromJson(const json::value* v, std::string_view field) {
  auto bad = [&] {
    return Err(
        InvalidArgumentError(std::string(field) + ": expected {\"type\", \"id\"} or Type::\"id\""));
  };
  if (v == nullptr) return Err(InvalidArgumentError(std::string(field) + ": missing"));
  if (v->is_string()) {
    auto uid = cedar::ParseEntityUid(v->get_string());
    if (!uid) return bad();
    return std::move(*uid);
  }
  const json::object* o = v->if_object();
  if (o == nullptr || o->size() != 2 || !o->contains("type") || !o->contains("id") ||
      !o->at("type").is_string() || !o->at("id").is_string()) {
    return bad();
  }
  return cedar::EntityUid{std::string(o->at("type").get_string()),
                          std::string(o->at("id").get_string())};
}

Result<cedar::Request> RequestFromJson(const json::value& v, const cedar::Schema* schema) {
  const json::object* o = v.if_object();
  if (o == nullptr) return Err(InvalidArgumentError("a request must be a JSON object"));
  for (const auto& [key, value] : *o) {
    if (key != "principal" && key != "action" && key != "resource" && key != "context") {
      return Err(InvalidArgumentError("unknown field \"" + std::string(key) + "\""));
    }
  }
  cedar::Request request;
  BULWARK_ASSIGN_OR_RETURN(request.principal,
                           UidFromJson(o->if_contains("principal"), "principal"));
  BULWARK_ASSIGN_OR_RETURN(request.action, UidFromJson(o->if_contains("action"), "action"));
  BULWARK_ASSIGN_OR_RETURN(request.resource, UidFromJson(o->if_contains("resource"), "resource"));
  if (const json::value* context = o->if_contains("context")) {
    if (!context->is_object()) return Err(InvalidArgumentError("context: expected an object"));
    auto value = cedar::ValueFromJson(json::serialize(*context));
    if (!value) return Err(InvalidArgumentError("context: " + value.error().message()));
    request.context = std::move(*value);
  }
  if (schema != nullptr) {
    BULWARK_ASSIGN_OR_RETURN(request.context,
                             cedar::ConformRequest(*schema, request.principal, request.action,
                                                   request.resource, request.context));
  }
  return request;
}

json::object DecisionToJson(const cedar::Decision& d) {
  json::array reasons;
  for (const std::string& id : d.reasons) reasons.emplace_back(id);
  json::array errors;
  for (const cedar::PolicyError& e : d.errors) {
    errors.emplace_back(json::object{{"policy", e.policy_id}, {"message", e.message}});
  }
  return json::object{{"decision", d.allow ? "allow" : "deny"},
                      {"reasons", std::move(reasons)},
                      {"errors", std::move(errors)}};
}

}  // namespace

DecisionApi::DecisionApi(DecisionApiOptions options,
                         std::shared_ptr<const cedar::SnapshotSource> policies,
                         audit::AuditQueue* audit, const Clock& clock)
    : options_(std::move(options)), policies_(std::move(policies)), audit_(audit), clock_(clock) {}

bool DecisionApi::TakesBodyAt(std::string_view path) {
  return path == kAuthorizePath || path == kBatchPath;
}

bool DecisionApi::TokenAccepted(const net::HttpRequest& request) const {
  return HasToken(request, options_.token_sha256);
}

std::optional<net::HttpResponse> DecisionApi::Handle(const net::HttpRequest& request,
                                                     std::string_view path) const {
  if (!TakesBodyAt(path)) return std::nullopt;
  if (auto refused = RefuseUnlessAuthorizedJsonPost(
          request, options_.token_sha256, "bulwark-pdp",
          {.queue = audit_, .clock = &clock_, .route = "pdp", .path = path})) {
    return refused;
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec) return net::JsonError(400, "malformed JSON");

  // One snapshot for the whole call, even if the policies change meanwhile.
  const std::shared_ptr<const cedar::CedarSnapshot> snapshot = policies_->Current();
  std::vector<cedar::Request> requests;
  const bool batch = path == kBatchPath;
  if (batch) {
    const json::object* o = body.if_object();
    const json::value* list = o == nullptr ? nullptr : o->if_contains("requests");
    if (list == nullptr || !list->is_array() || o->size() != 1) {
      return net::JsonError(400, "expected {\"requests\": [...]}");
    }
    if (list->get_array().size() > kMaxBatch) {
      return net::JsonError(400, "at most " + std::to_string(kMaxBatch) + " requests per batch");
    }
    size_t index = 0;
    for (const json::value& item : list->get_array()) {
      auto parsed = RequestFromJson(item, snapshot->schema.get());
      if (!parsed) {
        return net::JsonError(
            400, "requests[" + std::to_string(index) + "]: " + parsed.error().message());
      }
      requests.push_back(std::move(*parsed));
      ++index;
    }
  } else {
    auto parsed = RequestFromJson(body, snapshot->schema.get());
    if (!parsed) return net::JsonError(400, parsed.error().message());
    requests.push_back(std::move(*parsed));
  }

  json::array results;
  for (const cedar::Request& r : requests) {
    const auto start = std::chrono::steady_clock::now();
    const cedar::Decision decision = snapshot->policies->Authorize(r, *snapshot->entities);
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    results.emplace_back(DecisionToJson(decision));
    if (audit_ != nullptr) {
      audit::AuditEvent event;
      event.time = clock_.Now();
      event.request_id = request.request_id;
      event.subject = cedar::ToString(r.principal);
      event.credential_kind = "pdp_token";
      event.action = cedar::ToString(r.action);
      event.resource = cedar::ToString(r.resource);
      event.route = "pdp";
      event.client_ip = request.remote_address;
      event.decision = decision.allow ? audit::AuditDecision::kAllow : audit::AuditDecision::kDeny;
      event.status = 200;
      std::string reason = decision.allow ? "permitted by" : "denied";
      if (!decision.reasons.empty()) reason += decision.allow ? "" : " by";
      for (const std::string& id : decision.reasons) reason += " " + id;
      for (const cedar::PolicyError& e : decision.errors) reason += "; error in " + e.policy_id;
      event.reason = std::move(reason);
      event.latency = latency;
      (void)audit_->TryEnqueue(std::move(event));
    }
  }
  if (batch) return Json(200, json::object{{"results", std::move(results)}});
  return Json(200, results[0]);
}

}  // namespace bulwark::pdp
