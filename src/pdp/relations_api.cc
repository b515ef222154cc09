#include "pdp/relations_api.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <charconv>
#include <chrono>

#include "net/request_head.h"
#include "pdp/api_guard.h"
#include "pdp/openfga_model_json.h"
#include "pdp/relations_json.h"

namespace bulwark::pdp {

namespace {

namespace json = boost::json;
namespace fga = policy::fga;

constexpr std::string_view kPrefix = "/v1/relations/";
constexpr std::string_view kOpenFgaPrefix = "/stores/";
constexpr size_t kDefaultPageSize = 50;
constexpr size_t kMaxPageSize = 1000;

net::HttpResponse Json(int status, const json::value& body) {
  return net::JsonResponse(status, json::serialize(body));
}

net::HttpResponse Error(const Status& s) {
  return net::JsonError(HttpStatusFor(s.code()), s.message());
}

std::string Token(int64_t revision) { return std::to_string(revision); }

Result<int64_t> TokenOf(const json::object& o) {
  const json::value* v = o.if_contains("consistency_token");
  if (v == nullptr || (v->is_string() && v->get_string().empty())) return 0;
  int64_t out = 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_string()) {
    const json::string& s = v->get_string();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size() && out >= 0) return out;
  }
  return Err(InvalidArgumentError("consistency_token: expected a token returned by a write"));
}

json::value TreeToJson(const fga::ExpandNode& n) {
  json::object out{{"name", n.name}};
  switch (n.kind) {
    case fga::ExpandNode::Kind::kUsers: {
      json::array users;
      for (const std::string& u : n.users) users.emplace_back(u);
      out["users"] = std::move(users);
      break;
    }
    case fga::ExpandNode::Kind::kComputed:
      out["computed"] = n.computed;
      break;
    case fga::ExpandNode::Kind::kTupleToUserset: {
      json::array computed;
      for (const std::string& c : n.computed_usersets) computed.emplace_back(c);
      out["tupleset"] = n.tupleset;
      out["computed"] = std::move(computed);
      break;
    }
    case fga::ExpandNode::Kind::kUnion:
    case fga::ExpandNode::Kind::kIntersection:
    case fga::ExpandNode::Kind::kDifference: {
      json::array children;
      for (const fga::ExpandNode& c : n.children) children.push_back(TreeToJson(c));
      out[n.kind == fga::ExpandNode::Kind::kUnion          ? "union"
          : n.kind == fga::ExpandNode::Kind::kIntersection ? "intersection"
                                                           : "difference"] = std::move(children);
      break;
    }
  }
  return out;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array out;
  for (const std::string& s : v) out.emplace_back(s);
  return out;
}

}  // namespace

net::HttpResponse RelationsApi::AuthorizationModels(const net::HttpRequest& request,
                                                    std::string_view rest) const {
  // The current model is the only one; its id is the revision that wrote it.
  if (request.method == "GET" && (rest.empty() || rest == "/" || rest.starts_with("/"))) {
    auto model = relations_.ReadModel();
    auto parsed = model ? fga::Model::Parse(model->first) : Result<fga::Model>(Err(model.error()));
    if (!parsed) {
      if (rest.size() > 1) return Error(parsed.error());
      // No model yet: an empty list.
      return Json(
          200, json::object{{"authorization_models", json::array{}}, {"continuation_token", ""}});
    }
    json::object m = ModelToJson(*parsed, Token(model->second));
    if (rest.size() > 1) {  // /{id}: any id reads the current model
      return Json(200, json::object{{"authorization_model", std::move(m)}});
    }
    return Json(200, json::object{{"authorization_models", json::array{std::move(m)}},
                                  {"continuation_token", ""}});
  }
  if (request.method != "POST" || !rest.empty()) {
    net::HttpResponse response = net::JsonError(405, "use GET, or POST to write a model");
    response.headers.emplace_back("Allow", rest.empty() ? "GET, POST" : "GET");
    return response;
  }
  if (!net::IsJsonContentType(request.Header("Content-Type").value_or(""))) {
    return net::JsonError(415, "Content-Type must be application/json");
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec) return net::JsonError(400, "malformed JSON");
  auto dsl = DslFromModelJson(body);
  if (!dsl) return Error(dsl.error());
  auto token = relations_.PutModel(*dsl);
  AuditChange(request, "model.put", "relations/model", token ? OkStatus() : token.error(),
              token ? "model replaced at revision " + Token(*token) : "");
  if (!token) return Error(token.error());
  return Json(201, json::object{{"authorization_model_id", Token(*token)}});
}

void RelationsApi::AuditChange(const net::HttpRequest& request, std::string action,
                               std::string resource, const Status& status,
                               std::string reason) const {
  if (audit_ == nullptr) return;
  audit::AuditEvent event;
  event.time = clock_.Now();
  event.request_id = request.request_id;
  event.subject = "relations_token";
  event.credential_kind = "relations_token";
  event.action = std::move(action);
  event.resource = std::move(resource);
  event.route = "relations";
  event.client_ip = request.remote_address;
  event.decision = status.ok() ? audit::AuditDecision::kAllow : audit::AuditDecision::kDeny;
  event.status = status.ok() ? 200 : HttpStatusFor(status.code());
  event.reason = status.ok() ? std::move(reason) : "refused: " + status.message() + "; " + reason;
  (void)audit_->TryEnqueue(std::move(event));
}

RelationsApi::RelationsApi(RelationsApiOptions options, policy::RelationStore& relations,
                           audit::AuditQueue* audit, const Clock& clock)
    : options_(std::move(options)), relations_(relations), audit_(audit), clock_(clock) {}

bool RelationsApi::TakesBodyAt(std::string_view path) {
  return path.starts_with(kPrefix) || path.starts_with(kOpenFgaPrefix);
}

bool RelationsApi::TokenAccepted(const net::HttpRequest& request) const {
  return HasToken(request, options_.token_sha256);
}

std::optional<net::HttpResponse> RelationsApi::Handle(const net::HttpRequest& request,
                                                      std::string_view path) const {
  std::string_view op;
  bool openfga = false;
  if (path.starts_with(kPrefix)) {
    op = path.substr(kPrefix.size());
  } else if (path.starts_with(kOpenFgaPrefix)) {
    // /stores/{store_id}/{op}: one store, whatever its id.
    const std::string_view rest = path.substr(kOpenFgaPrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash > 64) return std::nullopt;
    op = rest.substr(slash + 1);
    if (op.starts_with("authorization-models")) {
      if (auto refused = RefuseUnlessAuthorized(
              request, options_.token_sha256, "bulwark-relations",
              {.queue = audit_, .clock = &clock_, .route = "relations", .path = path})) {
        return refused;
      }
      return AuthorizationModels(request,
                                 op.substr(std::string_view("authorization-models").size()));
    }
    if (op != "check" && op != "write" && op != "read" && op != "list-objects" &&
        op != "list-users") {
      return std::nullopt;
    }
    openfga = true;
  } else {
    return std::nullopt;
  }
  if (auto refused = RefuseUnlessAuthorized(
          request, options_.token_sha256, "bulwark-relations",
          {.queue = audit_, .clock = &clock_, .route = "relations", .path = path})) {
    return refused;
  }
  return Route(request, op, openfga);
}

net::HttpResponse RelationsApi::Route(const net::HttpRequest& request, std::string_view op,
                                      bool openfga) const {
  static constexpr std::string_view kPostOps[] = {"write",        "read",       "check",
                                                  "list-objects", "list-users", "expand"};
  const bool post_op =
      std::find(std::begin(kPostOps), std::end(kPostOps), op) != std::end(kPostOps);
  if (!post_op && op != "model") return net::JsonError(404, "no such relations operation");

  if (op == "model" && request.method == "GET") {
    auto model = relations_.ReadModel();
    if (!model) return Error(model.error());
    return Json(200, json::object{{"model", model->first}, {"revision", Token(model->second)}});
  }
  const bool put_model = op == "model" && request.method == "PUT";
  if (!put_model && (request.method != "POST" || !post_op)) {
    net::HttpResponse response = net::JsonError(405, post_op ? "use POST" : "use GET or PUT");
    response.headers.emplace_back("Allow", post_op ? "POST" : "GET, PUT");
    return response;
  }
  const std::string content_type = std::string(request.Header("Content-Type").value_or(""));
  auto put = [&](std::string_view dsl) {
    auto token = relations_.PutModel(dsl);
    AuditChange(request, "model.put", "relations/model", token ? OkStatus() : token.error(),
                token ? "model replaced at revision " + Token(*token) : "");
    if (!token) return Error(token.error());
    return Json(200, json::object{{"consistency_token", Token(*token)}});
  };
  if (put_model && !net::IsJsonContentType(content_type)) return put(request.body);  // the DSL
  if (!net::IsJsonContentType(content_type)) {
    return net::JsonError(415, "Content-Type must be application/json");
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object()) return net::JsonError(400, "expected a JSON object");
  const json::object& o = body.get_object();

  if (put_model) {
    const json::value* model = o.if_contains("model");
    if (model == nullptr || !model->is_string())
      return net::JsonError(400, "model: expected the DSL text");
    return put(model->get_string());
  }
  if (op == "write") {
    auto writes = TuplesFromJson(o.if_contains("writes"), "writes");
    if (!writes) return Error(writes.error());
    auto deletes = TuplesFromJson(o.if_contains("deletes"), "deletes");
    if (!deletes) return Error(deletes.error());
    auto token = relations_.Write(*writes, *deletes);
    std::string what = fmt::format("{} written, {} deleted", writes->size(), deletes->size());
    for (const auto& [list, sign] : {std::pair{&*writes, "+"}, std::pair{&*deletes, "-"}}) {
      for (const fga::TupleKey& t : *list) {
        what += fmt::format("; {}{}#{}@{}", sign, fga::ToString(t.object), t.relation,
                            fga::ToString(t.user));
      }
    }
    AuditChange(request, "tuples.write", "relations/tuples", token ? OkStatus() : token.error(),
                token ? what + " at revision " + Token(*token) : what);
    if (!token) return Error(token.error());
    return Json(200, json::object{{"consistency_token", Token(*token)}});
  }
  if (op == "read") {
    policy::RelationStore::ReadFilter filter;
    if (const json::value* k =
            o.contains("tuple_key") ? o.if_contains("tuple_key") : o.if_contains("tuple")) {
      if (!k->is_object()) return net::JsonError(400, "tuple_key: expected an object");
      for (const auto& [field, target] :
           {std::pair<std::string_view, std::string*>{"object", &filter.object},
            {"relation", &filter.relation},
            {"user", &filter.user}}) {
        if (const json::value* v = k->get_object().if_contains(field)) {
          if (!v->is_string())
            return net::JsonError(
                400, std::string("tuple_key.") + std::string(field) + ": expected a string");
          *target = v->get_string();
        }
      }
    }
    size_t page_size = kDefaultPageSize;
    if (const json::value* v = o.if_contains("page_size")) {
      if (!v->is_int64() || v->get_int64() < 1 ||
          v->get_int64() > static_cast<int64_t>(kMaxPageSize)) {
        return net::JsonError(400, "page_size: expected 1 to 1000");
      }
      page_size = static_cast<size_t>(v->get_int64());
    }
    std::string after;
    if (const json::value* v = o.if_contains("continuation_token")) {
      if (!v->is_string()) return net::JsonError(400, "continuation_token: expected a string");
      after = v->get_string();
    }
    std::string next;
    auto tuples = relations_.Read(filter, after, page_size, &next);
    if (!tuples) return Error(tuples.error());
    json::array out;
    for (const fga::TupleKey& t : *tuples) {
      if (openfga) {
        out.push_back(json::object{{"key", TupleToJson(t)}});
      } else {
        out.push_back(TupleToJson(t));
      }
    }
    return Json(200, json::object{{"tuples", std::move(out)}, {"continuation_token", next}});
  }

  auto token = TokenOf(o);
  if (!token) return Error(token.error());
  auto contextual = ContextualTuplesFromJson(o.if_contains("contextual_tuples"));
  if (!contextual) return Error(contextual.error());
  auto context = ContextFromJson(o.if_contains("context"));
  if (!context) return Error(context.error());

  if (op == "check") {
    const json::value* k =
        o.contains("tuple_key") ? o.if_contains("tuple_key") : o.if_contains("tuple");
    auto tuple = TupleFromJson(k, "tuple_key");
    if (!tuple) return Error(tuple.error());
    fga::CheckRequest check{std::move(tuple->object), std::move(tuple->relation),
                            std::move(tuple->user), std::move(*contextual), std::move(*context)};
    const auto start = std::chrono::steady_clock::now();
    auto result = relations_.Check(check, *token);
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - start);
    if (audit_ != nullptr) {
      audit::AuditEvent event;
      event.time = clock_.Now();
      event.request_id = request.request_id;
      event.subject = fga::ToString(check.user);
      event.credential_kind = "relations_token";
      event.action = check.relation;
      event.resource = fga::ToString(check.object);
      event.route = "relations";
      event.client_ip = request.remote_address;
      event.decision =
          result && result->allowed ? audit::AuditDecision::kAllow : audit::AuditDecision::kDeny;
      event.status = result ? 200 : HttpStatusFor(result.error().code());
      event.reason = result
                         ? (result->allowed ? "granted: " + JoinPath(result->path) : "no relation")
                         : "error: " + result.error().message();
      event.latency = latency;
      (void)audit_->TryEnqueue(std::move(event));
    }
    if (!result) return Error(result.error());
    return Json(200, json::object{{"allowed", result->allowed},
                                  {"path", Strings(result->path)},
                                  {"resolution", JoinPath(result->path)}});
  }
  if (op == "list-objects") {
    fga::ListObjectsRequest list;
    auto user = StringField(o, "user");
    auto relation = StringField(o, "relation");
    auto type = StringField(o, "type");
    if (!user) return Error(user.error());
    if (!relation) return Error(relation.error());
    if (!type) return Error(type.error());
    auto parsed = fga::ParseUser(*user);
    if (!parsed) return Error(parsed.error());
    list.user = std::move(*parsed);
    list.relation = std::move(*relation);
    list.type = std::move(*type);
    list.contextual_tuples = std::move(*contextual);
    list.context = std::move(*context);
    auto objects = relations_.ListObjects(list, *token);
    if (!objects) return Error(objects.error());
    return Json(200, json::object{{"objects", Strings(*objects)}});
  }
  if (op == "list-users") {
    fga::ListUsersRequest list;
    auto object = ObjectFromJson(o.if_contains("object"), "object");
    auto relation = StringField(o, "relation");
    auto filters = UserFiltersFromJson(o.if_contains("user_filters"));
    if (!object) return Error(object.error());
    if (!relation) return Error(relation.error());
    if (!filters) return Error(filters.error());
    list.object = std::move(*object);
    list.relation = std::move(*relation);
    list.filters = std::move(*filters);
    list.contextual_tuples = std::move(*contextual);
    list.context = std::move(*context);
    auto users = relations_.ListUsers(list, *token);
    if (!users) return Error(users.error());
    if (!openfga) return Json(200, json::object{{"users", Strings(*users)}});
    json::array out;  // OpenFGA's shapes: an object, a userset or a wildcard
    for (const std::string& u : *users) {
      const size_t colon = u.find(':');
      const size_t hash = u.find('#');
      const std::string type = u.substr(0, colon);
      const std::string id =
          u.substr(colon + 1, hash == std::string::npos ? std::string::npos : hash - colon - 1);
      if (id == "*") {
        out.push_back(json::object{{"wildcard", json::object{{"type", type}}}});
      } else if (hash != std::string::npos) {
        out.push_back(json::object{
            {"userset",
             json::object{{"type", type}, {"id", id}, {"relation", u.substr(hash + 1)}}}});
      } else {
        out.push_back(json::object{{"object", json::object{{"type", type}, {"id", id}}}});
      }
    }
    return Json(200, json::object{{"users", std::move(out)}});
  }
  // expand
  const json::value* k =
      o.contains("tuple_key") ? o.if_contains("tuple_key") : o.if_contains("tuple");
  if (k == nullptr || !k->is_object())
    return net::JsonError(400, "tuple_key: expected {\"object\", \"relation\"}");
  auto object = ObjectFromJson(k->get_object().if_contains("object"), "tuple_key.object");
  auto relation = StringField(k->get_object(), "relation");
  if (!object) return Error(object.error());
  if (!relation) return Error(relation.error());
  auto tree = relations_.Expand(*object, *relation, *token);
  if (!tree) return Error(tree.error());
  return Json(200, json::object{{"tree", TreeToJson(*tree)}});
}

}  // namespace bulwark::pdp
