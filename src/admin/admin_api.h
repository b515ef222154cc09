// The admin API: managing what the running server enforces, over HTTP, for
// operators and their automation. The store's file is held by the running
// server, so changes go through it; a store watch carries them to the
// gateway's snapshots at once.
//
//   POST   /_bulwark/admin/v1/api-keys        create; the key is in this answer only
//   GET    /_bulwark/admin/v1/api-keys        list (never a secret or hash)
//   GET    /_bulwark/admin/v1/api-keys/{id}   one key
//   DELETE /_bulwark/admin/v1/api-keys/{id}   revoke (the record stays, for audit)
//
// With policies managed through the store (policy.store: true):
//   GET    /_bulwark/admin/v1/policies          every policy document and the revision
//   GET    /_bulwark/admin/v1/policies/{name}   one document
//   PUT    /_bulwark/admin/v1/policies/{name}   {"text": "<Cedar>"}: create or replace
//   DELETE /_bulwark/admin/v1/policies/{name}
//   GET    /_bulwark/admin/v1/entities          the entities (Cedar JSON)
//   PUT    /_bulwark/admin/v1/entities          body: the entities array
//   GET    /_bulwark/admin/v1/schema            {"text": ...}
//   PUT    /_bulwark/admin/v1/schema            {"text": "<schema, text or JSON format>"}
//   DELETE /_bulwark/admin/v1/schema
// A change that would not load (a syntax error, a policy the schema rejects,
// entities that do not fit) is 400 naming the document and place, and
// changes nothing; a good one is a new snapshot before the answer returns.
//
// Every call must come from an address the API is open to (`admin.allow`,
// loopback by default; 403 otherwise, whatever it carries) and needs
// `Authorization: Bearer <admin token>` (compared in constant time); a POST needs `Content-Type:
// application/json`, which a browser cannot send cross-site without a preflight. Answers are JSON
// with `Cache-Control: no-store`; errors are {"error": "..."} without internals. Each change is
// audited. Calls write to the store, so they wait for its fsync on the io thread: fine for
// administration, not a data path.
#ifndef BULWARK_ADMIN_ADMIN_API_H_
#define BULWARK_ADMIN_ADMIN_API_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/audit_queue.h"
#include "core/clock.h"
#include "identity/api_keys.h"
#include "net/http_server.h"
#include "policy/policy_store.h"

namespace bulwark::admin {

struct AdminOptions {
  // SHA-256 of the admin token (the token itself is not kept).
  std::string token_sha256;
  // Whether a caller whose connection comes from `address` (the peer, not
  // a field a client could write) may use the API at all; null: any.
  std::function<bool(std::string_view address)> peer_allowed;
};

// The SHA-256 AdminOptions keeps of a token; kInvalidArgument if the token
// is shorter than 32 characters or has whitespace or control characters.
Result<std::string> HashAdminToken(std::string_view token);

class AdminApi {
 public:
  // Everything must outlive the API; `audit` and `policies` may be null.
  AdminApi(AdminOptions options, identity::ApiKeyService& api_keys, audit::AuditQueue* audit,
           const Clock& clock, policy::PolicyStore* policies = nullptr)
      : options_(std::move(options)),
        api_keys_(api_keys),
        audit_(audit),
        clock_(clock),
        policies_(policies) {}

  // Whether a request to the normalized `path` is one Handle may answer
  // with its body: the server reads such a body whole first, where it
  // would otherwise stream it to the proxy.
  static bool TakesBodyAt(std::string_view path);
  // Whether `request` carries this API's token: the server reads a body
  // only for a caller the API will hear, so a stranger's is never held.
  bool TokenAccepted(const net::HttpRequest& request) const;

  // The answer for a request whose normalized path (`path`, from
  // net::NormalizeRequestTarget, which the caller runs once for all its
  // handlers) is under /_bulwark/admin/; nullopt for any other request.
  std::optional<net::HttpResponse> Handle(const net::HttpRequest& request,
                                          std::string_view path) const;

 private:
  bool PeerAllowed(const net::HttpRequest& request) const;
  net::HttpResponse Dispatch(const net::HttpRequest& request, std::string_view path,
                             std::string& audit_reason) const;
  net::HttpResponse CreateApiKey(const net::HttpRequest& request, std::string& audit_reason) const;
  net::HttpResponse DispatchPolicy(const net::HttpRequest& request, std::string_view path,
                                   std::string& audit_reason) const;

  const AdminOptions options_;
  identity::ApiKeyService& api_keys_;
  audit::AuditQueue* audit_;
  const Clock& clock_;
  policy::PolicyStore* policies_;
};

}  // namespace bulwark::admin

#endif  // BULWARK_ADMIN_ADMIN_API_H_
