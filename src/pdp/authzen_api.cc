#include "pdp/authzen_api.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "net/request_head.h"
#include "pdp/api_guard.h"
#include "pdp/relations_json.h"

namespace bulwark::pdp {

namespace json = boost::json;
namespace cedar = policy::cedar;
namespace fga = policy::fga;

namespace {

constexpr std::string_view kEvaluationPath = "/access/v1/evaluation";
constexpr std::string_view kEvaluationsPath = "/access/v1/evaluations";
constexpr std::string_view kMetadataPath = "/.well-known/authzen-configuration";
constexpr std::string_view kSearchPrefix = "/access/v1/search/";

// subject and resource: {"type", "id"}; action: {"name"}.
Result<std::pair<std::string, std::string>> Entity(const json::value* v, std::string_view field,
                                                   bool action) {
  if (v == nullptr || !v->is_object()) {
    return Err(InvalidArgumentError(
        fmt::format("{}: expected {}", field, action ? "{\"name\"}" : "{\"type\", \"id\"}")));
  }
  const json::object& o = v->get_object();
  if (action) {
    auto name = StringField(o, "name");
    if (!name)
      return Err(InvalidArgumentError(fmt::format("{}.{}", field, name.error().message())));
    return std::make_pair(std::string(), std::move(*name));
  }
  auto type = StringField(o, "type");
  if (!type) return Err(InvalidArgumentError(fmt::format("{}.{}", field, type.error().message())));
  auto id = StringField(o, "id");
  if (!id) return Err(InvalidArgumentError(fmt::format("{}.{}", field, id.error().message())));
  return std::make_pair(std::move(*type), std::move(*id));
}

// An evaluation's fields, each from the item or else the defaults.
struct Evaluation {
  std::pair<std::string, std::string> subject, action, resource;
  const json::value* context = nullptr;
};

Result<Evaluation> EvaluationOf(const json::object& item, const json::object& defaults,
                                std::string_view where) {
  auto pick = [&](std::string_view key) {
    const json::value* v = item.if_contains(key);
    return v != nullptr ? v : defaults.if_contains(key);
  };
  Evaluation e;
  auto at = [&](std::string_view f) { return fmt::format("{}{}", where, f); };
  BULWARK_ASSIGN_OR_RETURN(e.subject, Entity(pick("subject"), at("subject"), false));
  BULWARK_ASSIGN_OR_RETURN(e.action, Entity(pick("action"), at("action"), true));
  BULWARK_ASSIGN_OR_RETURN(e.resource, Entity(pick("resource"), at("resource"), false));
  e.context = pick("context");
  if (e.context != nullptr && !e.context->is_object() && !e.context->is_null()) {
    return Err(InvalidArgumentError(at("context") + ": expected an object"));
  }
  return e;
}

// A search's entity whose id the search leaves open: {"type"} (an id is ignored).
Result<std::string> TypeOnly(const json::value* v, std::string_view field) {
  if (v == nullptr || !v->is_object()) {
    return Err(InvalidArgumentError(fmt::format("{}: expected {{\"type\"}}", field)));
  }
  auto type = StringField(v->get_object(), "type");
  if (!type) return Err(InvalidArgumentError(fmt::format("{}.{}", field, type.error().message())));
  return std::move(*type);
}

// {"type", "id"} of "type:id" ("user:*" gives id "*"; a userset keeps its #relation).
json::object EntityJson(std::string_view ref) {
  const size_t colon = ref.find(':');
  return json::object{{"type", ref.substr(0, colon)}, {"id", ref.substr(colon + 1)}};
}

json::object Denied(const Status& s) {
  return json::object{
      {"decision", false},
      {"context", json::object{{"error", json::object{{"status", HttpStatusFor(s.code())},
                                                      {"message", s.message()}}}}}};
}

}  // namespace

class AuthzenDecider {
 public:
  AuthzenDecider(const AuthzenApi& api, const net::HttpRequest& request)
      : api_(api), request_(request) {}

  json::object Decide(const Evaluation& e) const {
    const auto start = std::chrono::steady_clock::now();
    std::string reason;
    json::object out = api_.relations_ != nullptr ? Relations(e, reason) : Cedar(e, reason);
    if (api_.audit_ != nullptr) {
      audit::AuditEvent event;
      event.time = api_.clock_.Now();
      event.request_id = std::string(request_.Header("X-Request-ID").value_or(""));
      event.subject = e.subject.first + ":" + e.subject.second;
      event.credential_kind = "authzen_token";
      event.action = e.action.second;
      event.resource = e.resource.first + ":" + e.resource.second;
      event.route = "authzen";
      event.client_ip = request_.remote_address;
      event.decision =
          out.at("decision").as_bool() ? audit::AuditDecision::kAllow : audit::AuditDecision::kDeny;
      event.status = 200;
      event.reason = std::move(reason);
      event.latency = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - start);
      (void)api_.audit_->TryEnqueue(std::move(event));
    }
    return out;
  }

 private:
  json::object Relations(const Evaluation& e, std::string& reason) const {
    auto subject = fga::ParseUser(e.subject.first + ":" + e.subject.second);
    auto resource = fga::ParseObject(e.resource.first + ":" + e.resource.second);
    auto context = ContextFromJson(e.context);
    Status bad = !subject    ? subject.error()
                 : !resource ? resource.error()
                 : !context  ? context.error()
                             : OkStatus();
    if (!bad.ok()) {
      reason = "error: " + bad.message();
      return Denied(bad);
    }
    auto result = api_.relations_->Check(
        {std::move(*resource), e.action.second, std::move(*subject), {}, std::move(*context)});
    if (!result) {
      reason = "error: " + result.error().message();
      return Denied(result.error());
    }
    json::array path;
    for (const std::string& step : result->path) path.emplace_back(step);
    reason = result->allowed ? "granted: " + JoinPath(result->path) : "no relation";
    json::object out{{"decision", result->allowed}};
    if (result->allowed) out["context"] = json::object{{"reason", std::move(path)}};
    return out;
  }

  json::object Cedar(const Evaluation& e, std::string& reason) const {
    const auto snapshot = api_.cedar_->Current();
    cedar::Request r{{e.subject.first, e.subject.second},
                     {api_.options_.cedar_action_type, e.action.second},
                     {e.resource.first, e.resource.second}};
    if (e.context != nullptr && e.context->is_object()) {
      auto value = cedar::ValueFromJson(json::serialize(*e.context));
      if (!value) {
        reason = "error: context: " + value.error().message();
        return Denied(InvalidArgumentError("context: " + value.error().message()));
      }
      r.context = std::move(*value);
    }
    if (snapshot->schema != nullptr) {
      auto conformed =
          cedar::ConformRequest(*snapshot->schema, r.principal, r.action, r.resource, r.context);
      if (!conformed) {
        reason = "error: " + conformed.error().message();
        return Denied(conformed.error());
      }
      r.context = std::move(*conformed);
    }
    const cedar::Decision d = snapshot->policies->Authorize(r, *snapshot->entities);
    json::array reasons;
    for (const std::string& id : d.reasons) reasons.emplace_back(id);
    reason = d.allow ? "permitted by" : "denied";
    for (const std::string& id : d.reasons) reason += " " + id;
    json::object out{{"decision", d.allow},
                     {"context", json::object{{"reason", std::move(reasons)}}}};
    if (!d.errors.empty()) {
      json::array errors;
      for (const cedar::PolicyError& err : d.errors) {
        errors.emplace_back(json::object{{"policy", err.policy_id}, {"message", err.message}});
      }
      out["context"].as_object()["errors"] = std::move(errors);
    }
    return out;
  }

  const AuthzenApi& api_;
  const net::HttpRequest& request_;
};

AuthzenApi::AuthzenApi(AuthzenApiOptions options,
                       std::shared_ptr<const cedar::SnapshotSource> cedar,
                       const policy::RelationStore* relations, audit::AuditQueue* audit,
                       const Clock& clock)
    : options_(std::move(options)),
      cedar_(std::move(cedar)),
      relations_(relations),
      audit_(audit),
      clock_(clock) {}

bool AuthzenApi::TakesBodyAt(std::string_view path) {
  return path == kEvaluationPath || path == kEvaluationsPath || path.starts_with(kSearchPrefix);
}

bool AuthzenApi::TokenAccepted(const net::HttpRequest& request) const {
  return HasToken(request, options_.token_sha256);
}

std::optional<net::HttpResponse> AuthzenApi::Handle(const net::HttpRequest& request,
                                                    std::string_view path) const {
  if (path == kMetadataPath && !options_.policy_decision_point.empty()) {
    if (request.method != "GET" && request.method != "HEAD") {
      net::HttpResponse response = net::JsonError(405, "use GET");
      response.headers.emplace_back("Allow", "GET, HEAD");
      return response;
    }
    const std::string& base = options_.policy_decision_point;
    json::object metadata{{"policy_decision_point", base},
                          {"access_evaluation_endpoint", base + std::string(kEvaluationPath)},
                          {"access_evaluations_endpoint", base + std::string(kEvaluationsPath)}};
    if (relations_ != nullptr) {  // the searches need the relations engine
      for (std::string_view kind : {"subject", "resource", "action"}) {
        metadata[fmt::format("search_{}_endpoint", kind)] =
            fmt::format("{}{}{}", base, kSearchPrefix, kind);
      }
    }
    return net::JsonResponse(200, json::serialize(metadata));
  }
  const bool search = path.starts_with(kSearchPrefix) && relations_ != nullptr;
  if (path != kEvaluationPath && path != kEvaluationsPath && !search) return std::nullopt;
  net::HttpResponse response = [&] {
    if (auto refused = RefuseUnlessAuthorizedJsonPost(
            request, options_.token_sha256, "bulwark-authzen",
            {.queue = audit_, .clock = &clock_, .route = "authzen", .path = path})) {
      return std::move(*refused);
    }
    if (search) return Search(request, path.substr(kSearchPrefix.size()));
    return Evaluate(request, path == kEvaluationsPath);
  }();
  if (auto id = request.Header("X-Request-ID"); id && !id->empty() && id->size() <= 256) {
    response.headers.emplace_back("X-Request-ID", std::string(*id));
  }
  return response;
}

net::HttpResponse AuthzenApi::Search(const net::HttpRequest& request, std::string_view kind) const {
  if (kind != "subject" && kind != "resource" && kind != "action") {
    return net::JsonError(404, "no such search");
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return net::JsonError(400, "expected a JSON object");
  const json::object& o = body.get_object();
  auto context = ContextFromJson(o.if_contains("context"));
  if (!context) return net::JsonError(400, context.error().message());
  // The page: an offset into the (sorted) results as the opaque token.
  size_t offset = 0, limit = fga::kMaxListResults;
  if (const json::value* page = o.if_contains("page")) {
    if (!page->is_object()) return net::JsonError(400, "page: expected an object");
    if (const json::value* t = page->get_object().if_contains("token")) {
      if (!t->is_string() ||
          (!t->get_string().empty() &&
           std::from_chars(t->get_string().data(), t->get_string().data() + t->get_string().size(),
                           offset)
                   .ec != std::errc())) {
        return net::JsonError(400, "page.token: not a token this PDP returned");
      }
    }
    if (const json::value* l = page->get_object().if_contains("limit")) {
      if (!l->is_int64() || l->get_int64() < 0)
        return net::JsonError(400, "page.limit: expected a non-negative integer");
      limit = std::min<size_t>(static_cast<size_t>(l->get_int64()), fga::kMaxListResults);
    }
  }
  Result<std::vector<std::string>> found = Err(InvalidArgumentError("unreachable"));
  if (kind == "resource") {
    auto subject = Entity(o.if_contains("subject"), "subject", false);
    auto action = Entity(o.if_contains("action"), "action", true);
    auto type = TypeOnly(o.if_contains("resource"), "resource");
    if (!subject) return net::JsonError(400, subject.error().message());
    if (!action) return net::JsonError(400, action.error().message());
    if (!type) return net::JsonError(400, type.error().message());
    auto user = fga::ParseUser(subject->first + ":" + subject->second);
    if (!user) return net::JsonError(400, "subject: " + user.error().message());
    fga::ListObjectsRequest list;
    list.type = std::move(*type);
    list.relation = std::move(action->second);
    list.user = std::move(*user);
    list.context = std::move(*context);
    found = relations_->ListObjects(list);
  } else if (kind == "subject") {
    auto type = TypeOnly(o.if_contains("subject"), "subject");
    auto action = Entity(o.if_contains("action"), "action", true);
    auto resource = Entity(o.if_contains("resource"), "resource", false);
    if (!type) return net::JsonError(400, type.error().message());
    if (!action) return net::JsonError(400, action.error().message());
    if (!resource) return net::JsonError(400, resource.error().message());
    auto object = fga::ParseObject(resource->first + ":" + resource->second);
    if (!object) return net::JsonError(400, "resource: " + object.error().message());
    fga::ListUsersRequest list;
    list.object = std::move(*object);
    list.relation = std::move(action->second);
    list.filters = {std::move(*type)};
    list.context = std::move(*context);
    found = relations_->ListUsers(list);
  } else {
    auto subject = Entity(o.if_contains("subject"), "subject", false);
    auto resource = Entity(o.if_contains("resource"), "resource", false);
    if (!subject) return net::JsonError(400, subject.error().message());
    if (!resource) return net::JsonError(400, resource.error().message());
    auto user = fga::ParseUser(subject->first + ":" + subject->second);
    auto object = fga::ParseObject(resource->first + ":" + resource->second);
    if (!user) return net::JsonError(400, "subject: " + user.error().message());
    if (!object) return net::JsonError(400, "resource: " + object.error().message());
    found = relations_->ListRelations(*object, *user, *context);
  }
  if (!found) return net::JsonError(HttpStatusFor(found.error().code()), found.error().message());
  const size_t total = found->size();
  const size_t begin = std::min(offset, total);
  const size_t end = std::min(total, begin + limit);
  json::array results;
  for (size_t i = begin; i < end; ++i) {
    const std::string& item = (*found)[i];
    results.push_back(kind == "action" ? json::object{{"name", item}} : EntityJson(item));
  }
  json::object out;
  out["page"] = json::object{{"next_token", end < total ? std::to_string(end) : ""},
                             {"count", end - begin},
                             {"total", total}};
  out["results"] = std::move(results);
  return net::JsonResponse(200, json::serialize(out));
}

net::HttpResponse AuthzenApi::Evaluate(const net::HttpRequest& request, bool batch) const {
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return net::JsonError(400, "expected a JSON object");
  const json::object& o = body.get_object();
  AuthzenDecider decider(*this, request);
  const json::value* items = batch ? o.if_contains("evaluations") : nullptr;
  if (items == nullptr || (items->is_array() && items->get_array().empty())) {
    static const json::object kNoDefaults;
    auto e = EvaluationOf(o, kNoDefaults, "");
    if (!e) return net::JsonError(400, e.error().message());
    return net::JsonResponse(200, json::serialize(decider.Decide(*e)));
  }
  if (!items->is_array()) return net::JsonError(400, "evaluations: expected a list");
  if (items->get_array().size() > kMaxEvaluations) {
    return net::JsonError(400, fmt::format("at most {} evaluations per request", kMaxEvaluations));
  }
  std::string semantic = "execute_all";
  if (const json::value* options = o.if_contains("options")) {
    if (!options->is_object()) return net::JsonError(400, "options: expected an object");
    if (const json::value* s = options->get_object().if_contains("evaluations_semantic")) {
      if (!s->is_string() ||
          (s->get_string() != "execute_all" && s->get_string() != "deny_on_first_deny" &&
           s->get_string() != "permit_on_first_permit")) {
        return net::JsonError(400,
                              "options.evaluations_semantic: expected execute_all, "
                              "deny_on_first_deny or permit_on_first_permit");
      }
      semantic = s->get_string();
    }
  }
  // Every item must be well formed before any is decided.
  std::vector<Evaluation> evaluations;
  size_t i = 0;
  for (const json::value& item : items->get_array()) {
    if (!item.is_object()) {
      return net::JsonError(400, fmt::format("evaluations[{}]: expected an object", i));
    }
    auto e = EvaluationOf(item.get_object(), o, fmt::format("evaluations[{}].", i));
    if (!e) return net::JsonError(400, e.error().message());
    evaluations.push_back(std::move(*e));
    ++i;
  }
  json::array results;
  for (const Evaluation& e : evaluations) {
    json::object d = decider.Decide(e);
    const bool allowed = d.at("decision").as_bool();
    results.emplace_back(std::move(d));
    if ((semantic == "deny_on_first_deny" && !allowed) ||
        (semantic == "permit_on_first_permit" && allowed)) {
      break;
    }
  }
  return net::JsonResponse(200, json::serialize(json::object{{"evaluations", std::move(results)}}));
}

}  // namespace bulwark::pdp
