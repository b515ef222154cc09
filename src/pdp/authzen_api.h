// The OpenID AuthZEN Authorization API 1.0, so any AuthZEN-speaking policy
// enforcement point can use Bulwark as its decision point:
//
//   POST /access/v1/evaluation   {"subject": {"type", "id", "properties"?},
//                                 "action": {"name", "properties"?},
//                                 "resource": {"type", "id", "properties"?},
//                                 "context"?: {...}}
//                                -> {"decision": bool, "context": {"reason": ...}}
//   POST /access/v1/evaluations  top-level subject/action/resource/context as
//                                defaults for each of "evaluations": [...];
//                                "options": {"evaluations_semantic":
//                                "execute_all" | "deny_on_first_deny" |
//                                "permit_on_first_permit"} -> {"evaluations": [...]}
//                                (the short-circuit semantics stop after the
//                                deciding evaluation); without evaluations, one
//                                evaluation's answer
//   POST /access/v1/search/resource  {subject, action, resource: {type}}
//                                -> {"page": {...}, "results": [{"type", "id"}]}
//                                (ListObjects); /search/subject {subject: {type},
//                                action, resource} (ListUsers; "id": "*" is
//                                everyone); /search/action {subject, resource}
//                                -> [{"name"}] (the relations held). Relations
//                                engine only; "page": {"limit", "token"} pages
//                                through up to 1,000 sorted results.
//   GET /.well-known/authzen-configuration   the PDP's metadata (when
//                                authzen.policy_decision_point is configured)
//
// Answered by the engine the config names:
//   relations: the subject "type:id" has relation action.name to the
//              resource "type:id"; the context feeds conditions; the
//              decision's context carries the resolution path.
//   cedar:     principal Type::"id", action <action_type>::"name", resource
//              Type::"id", context the AuthZEN context (read through the
//              schema, if any); the decision's context carries the deciding
//              policies. Entity data comes from Bulwark's entities, not from
//              "properties".
// An evaluation the engine cannot answer (an unknown type or relation, a
// condition missing its parameters) is a deny whose context says why
// ({"error": {"status": 400, "message": ...}}); a malformed request is 400.
// Every call needs `Authorization: Bearer <token>` (authzen.api_token); an
// X-Request-ID is echoed. Each evaluation is audited.
#ifndef BULWARK_PDP_AUTHZEN_API_H_
#define BULWARK_PDP_AUTHZEN_API_H_

#include <memory>
#include <optional>
#include <string>

#include "audit/audit_queue.h"
#include "core/clock.h"
#include "net/http_server.h"
#include "policy/cedar_snapshot.h"
#include "policy/relation_store.h"

namespace bulwark::pdp {

inline constexpr size_t kMaxEvaluations = 100;

struct AuthzenApiOptions {
  std::string token_sha256;           // SHA-256 of the API token
  std::string policy_decision_point;  // "https://pdp.example.com"; "" = no metadata document
  std::string cedar_action_type = "Action";
};

class AuthzenApi {
 public:
  // Exactly one engine: `cedar` or `relations` (non-null). Both, `audit`
  // (may be null) and `clock` must outlive the API.
  AuthzenApi(AuthzenApiOptions options, std::shared_ptr<const policy::cedar::SnapshotSource> cedar,
             const policy::RelationStore* relations, audit::AuditQueue* audit, const Clock& clock);

  // Whether a request to the normalized `path` is one Handle may answer
  // with its body: the server reads such a body whole first, where it
  // would otherwise stream it to the proxy.
  static bool TakesBodyAt(std::string_view path);
  // Whether `request` carries this API's token: the server reads a body
  // only for a caller the API will hear, so a stranger's is never held.
  bool TokenAccepted(const net::HttpRequest& request) const;

  // The answer for /access/v1/evaluation(s) and the metadata document;
  // nullopt for any other path. Thread-safe.
  std::optional<net::HttpResponse> Handle(const net::HttpRequest& request,
                                          std::string_view path) const;

 private:
  net::HttpResponse Evaluate(const net::HttpRequest& request, bool batch) const;
  // /access/v1/search/{subject,resource,action} (relations engine only).
  net::HttpResponse Search(const net::HttpRequest& request, std::string_view kind) const;
  friend class AuthzenDecider;

  const AuthzenApiOptions options_;
  const std::shared_ptr<const policy::cedar::SnapshotSource> cedar_;
  const policy::RelationStore* relations_;
  audit::AuditQueue* audit_;
  const Clock& clock_;
};

}  // namespace bulwark::pdp

#endif  // BULWARK_PDP_AUTHZEN_API_H_
