// The relationship API over HTTP, in the shapes OpenFGA users know:
//
//   POST /v1/relations/write         {"writes": [tuple...], "deletes": [tuple...]}
//                                    -> {"consistency_token": "42"}
//   POST /v1/relations/read          {"tuple_key": {"object"?, "relation"?, "user"?},
//                                     "page_size"?, "continuation_token"?}
//                                    -> {"tuples": [...], "continuation_token": ""}
//   POST /v1/relations/check         {"tuple_key": {"user", "relation", "object"},
//                                     "contextual_tuples"?, "context"?, "consistency_token"?}
//                                    -> {"allowed": bool, "path": ["why", ...]}
//   POST /v1/relations/list-objects  {"user", "relation", "type", ...}  -> {"objects": [...]}
//   POST /v1/relations/list-users    {"object", "relation", "user_filters": [{"type",
//                                     "relation"?}], ...}               -> {"users": [...]}
//   POST /v1/relations/expand        {"tuple_key": {"object", "relation"}} -> {"tree": {...}}
//   GET  /v1/relations/model         -> {"model": "<DSL>", "revision": "7"}
//   PUT  /v1/relations/model         the DSL as text/plain (or {"model": "..."})
//                                    -> {"consistency_token": "8"}
//
// OpenFGA's own paths answer too, so its SDKs and CLI work unchanged against
// Bulwark's one store (any store id; the authorization model id is ignored,
// the current model answers): POST /stores/{id}/check, write, read,
// list-objects and list-users, with OpenFGA's answer shapes (read's
// {"key": tuple}, list-users' {"object"}/{"userset"}/{"wildcard"}); and
// POST/GET /stores/{id}/authorization-models[/{model_id}] with models in
// OpenFGA's JSON form (written as the DSL; the id is the revision).
//
// A tuple is {"user": "user:anne", "relation": "viewer", "object": "doc:1",
// "condition"?: {"name": "...", "context"?: {...}}}; "tuple" is accepted for
// "tuple_key", and contextual tuples as a list or as {"tuple_keys": [...]}.
// A consistency token from a write makes a later query wait until this node's
// index holds that write (503 if it cannot within the configured wait).
// Every call needs `Authorization: Bearer <token>` (relations.api_token,
// compared in constant time). Errors are {"error": "..."} with 400 (bad
// input, naming it), 404 (deleting a missing tuple), 409 (writing an
// existing one), 412 (no model yet), 503. Checks are audited with their
// resolution path, writes with their tuples and model puts, made or refused.
#ifndef BULWARK_PDP_RELATIONS_API_H_
#define BULWARK_PDP_RELATIONS_API_H_

#include <optional>
#include <string>

#include "audit/audit_queue.h"
#include "core/clock.h"
#include "net/http_server.h"
#include "policy/relation_store.h"

namespace bulwark::pdp {

struct RelationsApiOptions {
  std::string token_sha256;  // SHA-256 of the API token (the token is not kept)
};

class RelationsApi {
 public:
  // `relations` must outlive the API; `audit` may be null.
  RelationsApi(RelationsApiOptions options, policy::RelationStore& relations,
               audit::AuditQueue* audit, const Clock& clock);

  // Whether a request to the normalized `path` is one Handle may answer
  // with its body: the server reads such a body whole first, where it
  // would otherwise stream it to the proxy.
  static bool TakesBodyAt(std::string_view path);
  // Whether `request` carries this API's token: the server reads a body
  // only for a caller the API will hear, so a stranger's is never held.
  bool TokenAccepted(const net::HttpRequest& request) const;

  // The answer for a request whose normalized path is under /v1/relations/;
  // nullopt for any other. Thread-safe.
  std::optional<net::HttpResponse> Handle(const net::HttpRequest& request,
                                          std::string_view path) const;

 private:
  // `openfga`: the request came by OpenFGA's path, so answers take its shapes.
  net::HttpResponse Route(const net::HttpRequest& request, std::string_view op, bool openfga) const;
  // GET/POST /stores/{id}/authorization-models[/{model_id}] in OpenFGA's
  // JSON model form (`rest` is what follows "authorization-models").
  net::HttpResponse AuthorizationModels(const net::HttpRequest& request,
                                        std::string_view rest) const;
  // Audits a change (a write or a model put), made or refused.
  void AuditChange(const net::HttpRequest& request, std::string action, std::string resource,
                   const Status& status, std::string reason) const;

  const RelationsApiOptions options_;
  policy::RelationStore& relations_;
  audit::AuditQueue* audit_;
  const Clock& clock_;
};

}  // namespace bulwark::pdp

#endif  // BULWARK_PDP_RELATIONS_API_H_
