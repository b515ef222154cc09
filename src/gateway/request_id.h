// RequestId: the id that ties a request's audit event to the service's own
// logs and to what the client was told.
//
// The gateway gives every request an `X-Request-Id`: the service gets it with
// the request, the client gets it with the answer (a denial too), and the
// audit event records it. By default the id is new and a client-sent one is
// replaced, since a client that chose ids could make its requests look like
// others' in the audit trail; behind a proxy that sets the field (nginx's
// `$request_id`, Envoy's `x-request-id`), `preserve` keeps a well-formed one.
#ifndef BULWARK_GATEWAY_REQUEST_ID_H_
#define BULWARK_GATEWAY_REQUEST_ID_H_

#include <string>
#include <string_view>

namespace bulwark::gateway {

inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";

enum class RequestIdMode {
  kGenerate,  // always a new id; a client's X-Request-Id never goes further
  kPreserve,  // a single well-formed X-Request-Id is kept, else a new id
  kOff,       // no id: X-Request-Id passes through like any other field
};

// 1 to 128 characters from [A-Za-z0-9], '-', '_', '.', ':', '+', '/', '=':
// UUIDs, hex and base64 trace ids, W3C traceparent values. Nothing that
// would need escaping in a header, a log line or JSON.
bool IsWellFormedRequestId(std::string_view id);

// A random version 4 UUID, lower case ("0b7c...-4...-[89ab]..."): 122 bits
// of OpenSSL's generator, drawn for 256 ids at a time per thread, so ids
// neither repeat nor can be predicted from others, at no generator call per
// request.
std::string NewRequestId();

// The id a request gets under `mode`, given the first of the `sent_count`
// X-Request-Id fields it came with (`sent`): "" when `mode` is off.
std::string RequestIdFor(RequestIdMode mode, std::string_view sent, size_t sent_count);

// Appends `X-Request-Id: <id>` and CRLF to `lines` (field lines for the
// service or the client), nothing if `id` is empty (RequestIdMode::kOff).
void AppendRequestIdField(std::string_view id, std::string& lines);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_REQUEST_ID_H_
