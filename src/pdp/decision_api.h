// The policy decision point over HTTP: services and proxies that enforce
// Bulwark's Cedar policies ask it for decisions.
//
//   POST /v1/authorize        {"principal", "action", "resource", "context"}
//                             -> {"decision": "allow"|"deny", "reasons": [...],
//                                 "errors": [{"policy": "...", "message": "..."}]}
//   POST /v1/authorize/batch  {"requests": [...]} (at most 100)
//                             -> {"results": [...]} in the same order
//
// Entities are written {"type": "User", "id": "alice"} or as the Cedar
// literal "User::\"alice\""; the context is a JSON object of Cedar values
// (with the __entity and __extn escapes), absent meaning {}. Every call
// needs `Authorization: Bearer <token>` (the config's policy.api_token,
// compared in constant time) and `Content-Type: application/json`. Errors are
// {"error": "..."} naming the bad field. With a schema, a request must fit
// it (a declared action applying to the principal's and resource's types, a
// context of the action's context type, read as the schema says: "10.0.0.1"
// is an ipaddr where one is expected), else 400. Each decision is audited.
#ifndef BULWARK_PDP_DECISION_API_H_
#define BULWARK_PDP_DECISION_API_H_

#include <memory>
#include <optional>
#include <string>

#include "audit/audit_queue.h"
#include "core/clock.h"
#include "net/http_server.h"
#include "policy/cedar_snapshot.h"

namespace bulwark::pdp {

inline constexpr size_t kMaxBatch = 100;

struct DecisionApiOptions {
  std::string token_sha256;  // SHA-256 of the API token (the token is not kept)
};

class DecisionApi {
 public:
  // `audit` may be null; it and `clock` must outlive the API.
  // `policies` gives the snapshot each request is decided on.
  DecisionApi(DecisionApiOptions options,
              std::shared_ptr<const policy::cedar::SnapshotSource> policies,
              audit::AuditQueue* audit, const Clock& clock);

  // Whether a request to the normalized `path` is one Handle may answer
  // with its body: the server reads such a body whole first, where it
  // would otherwise stream it to the proxy.
  static bool TakesBodyAt(std::string_view path);
  // Whether `request` carries this API's token: the server reads a body
  // only for a caller the API will hear, so a stranger's is never held.
  bool TokenAccepted(const net::HttpRequest& request) const;

  // The answer for a request whose normalized path (`path`, from
  // net::NormalizeRequestTarget, run once by the caller) is /v1/authorize or
  // /v1/authorize/batch; nullopt for any other. Thread-safe.
  std::optional<net::HttpResponse> Handle(const net::HttpRequest& request,
                                          std::string_view path) const;

 private:
  const DecisionApiOptions options_;
  const std::shared_ptr<const policy::cedar::SnapshotSource> policies_;
  audit::AuditQueue* audit_;
  const Clock& clock_;
};

}  // namespace bulwark::pdp

#endif  // BULWARK_PDP_DECISION_API_H_
