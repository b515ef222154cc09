// The short, generic answer the gateway gives for a status: what went wrong
// stays in the Decision (for audit and logs), never in the body.
#ifndef BULWARK_GATEWAY_STATUS_RESPONSE_H_
#define BULWARK_GATEWAY_STATUS_RESPONSE_H_

#include "net/http_server.h"

namespace bulwark::gateway {

// text/plain, Cache-Control: no-store, a body such as "forbidden\n"; for
// 204 (a CORS preflight allowed) no field and no body.
net::HttpResponse StatusResponse(int status);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_STATUS_RESPONSE_H_
