#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "gateway/reverse_proxy.h"
#include "identity/api_keys.h"

namespace bulwark::gateway {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// The shape of a Bulwark API key: prefix, 16 hex digits, '_', 43 base64url.
const std::string kApiKey = "bwk_0123456789abcdef_" + std::string(43, 'A');

// What the client sent that is not for the service never reaches it: the
// hop-by-hop fields and those Connection names, forged identity and
// forwarding fields and Host (the gateway sets its own), Expect (answered
// here), the framing, and names with '_' (a CGI-style reader takes
// X_Bulwark_Subject for X-Bulwark-Subject); order and repeats of the rest
// are kept.
TEST(ForwardedRequestFieldsTest, DropsThisHopsAndTheGatewaysFields) {
  ASSERT_TRUE(identity::LooksLikeApiKey(kApiKey));
  const Fields in = {
      {"Host", "svc"},
      {"Accept", "*/*"},
      {"Connection", "keep-alive, X-Secret , x-other"},
      {"X-Secret", "1"},
      {"X-OTHER", "2"},
      {"Keep-Alive", "timeout=5"},
      {"TE", "trailers"},
      {"Trailer", "X"},
      {"Upgrade", "websocket"},
      {"Proxy-Connection", "keep-alive"},
      {"Transfer-Encoding", "chunked"},
      {"Content-Length", "5"},
      {"Expect", "100-continue"},
      {"X-Bulwark-Subject", "admin"},
      {"x-bulwark-roles", "root"},
      {"X-Forwarded-For", "10.9.9.9"},
      {"x-forwarded-proto", "https"},
      {"X-Forwarded-Host", "evil"},
      {"Forwarded", "for=10.9.9.9"},
      {"X-Forwarded-Port", "8443"},
      {"x-forwarded-prefix", "/evil"},
      {"X_Bulwark_Subject", "root"},
      {"x-bulwark_scopes", "admin"},
      {"Transfer_Encoding", "chunked"},
      {"Content_Length", "44"},
      {"X_Forwarded_For", "10.9.9.9"},
      {"Cookie", "a=1"},
      {"Cookie", "b=2"},
      {"Authorization", "Bearer eyJ.jwt.sig"},
      {"X-Api-Key", kApiKey},  // a Bulwark key: the gateway's, never a service's
      {"X-Api-Key", "svc-key"},
  };
  std::string out;
  AppendForwardedRequestFields(in, {}, out);
  EXPECT_EQ(out,
            "Accept: */*\r\nCookie: a=1\r\nCookie: b=2\r\n"
            "Authorization: Bearer eyJ.jwt.sig\r\nX-Api-Key: svc-key\r\n");
}

// On a route that takes API keys, the key the gateway consumed stays here,
// in X-Api-Key or as a bearer credential; a JWT bearer goes on.
TEST(ForwardedRequestFieldsTest, AnApiKeyTheGatewayTakesStaysHere) {
  std::string out;
  AppendForwardedRequestFields({{"X-Api-Key", kApiKey}, {"A", "1"}}, {.api_key = true}, out);
  AppendForwardedRequestFields({{"authorization", "Bearer " + kApiKey}, {"B", "2"}},
                               {.api_key = true}, out);
  AppendForwardedRequestFields({{"Authorization", "Bearer eyJ.jwt.sig"}}, {.api_key = true}, out);
  EXPECT_EQ(out, "A: 1\r\nB: 2\r\nAuthorization: Bearer eyJ.jwt.sig\r\n");
}

// A JWT the gateway verified stays here too (its Authorization, in any
// case), and with it an API key the route takes; other fields go on.
TEST(ForwardedRequestFieldsTest, ABearerTokenTheGatewayVerifiedStaysHere) {
  std::string out;
  AppendForwardedRequestFields({{"authorization", "Bearer eyJ.jwt.sig"}, {"A", "1"}},
                               {.authorization = true}, out);
  AppendForwardedRequestFields(
      {{"Authorization", "Bearer eyJ.jwt.sig"}, {"X-Api-Key", kApiKey}, {"B", "2"}},
      {.api_key = true, .authorization = true}, out);
  // Without the API key dropped, the service's own key in X-Api-Key goes on
  // (a Bulwark key never does).
  AppendForwardedRequestFields({{"Authorization", "Bearer eyJ.jwt.sig"},
                                {"X-Api-Key", "svc-key"},
                                {"X-Api-Key", kApiKey},
                                {"Authorization", "Bearer " + kApiKey}},
                               {.authorization = true}, out);
  EXPECT_EQ(out, "A: 1\r\nB: 2\r\nX-Api-Key: svc-key\r\n");
}

// A client's claims of an address or an original target, which a service
// would take on trust from a proxy, go no further: every X-Forwarded-* and
// X-Envoy-*, and the fields other proxies and CDNs set, in any case; nor
// does a credential for the proxy (Proxy-Authorization). Names that merely
// begin alike go on.
TEST(ForwardedRequestFieldsTest, ClaimsOfAnotherAddressOrTargetGoNoFurther) {
  const Fields in = {
      {"X-Real-IP", "10.9.9.9"},
      {"x-client-ip", "10.9.9.9"},
      {"True-Client-IP", "10.9.9.9"},
      {"X-Cluster-Client-IP", "10.9.9.9"},
      {"CF-Connecting-IP", "10.9.9.9"},
      {"Fastly-Client-IP", "10.9.9.9"},
      {"X-Original-Forwarded-For", "10.9.9.9"},
      {"X-Original-URI", "/admin"},
      {"x-original-method", "DELETE"},
      {"X-Forwarded-Uri", "/admin"},
      {"X-Forwarded-Method", "DELETE"},
      {"x-forwarded-ssl", "on"},
      {"X-Forwarded-Scheme", "https"},
      {"X-Envoy-Original-Path", "/admin"},
      {"x-envoy-internal", "true"},
      {"X-Forwarded", "kept"},
      {"X-Envoy", "kept"},
      {"X-Real-IP-Note", "kept"},
      {"proxy-authorization", "Basic dXNlcjpwYXNz"},
      {"A", "1"},
  };
  std::string out;
  AppendForwardedRequestFields(in, {}, out);
  EXPECT_EQ(out, "X-Forwarded: kept\r\nX-Envoy: kept\r\nX-Real-IP-Note: kept\r\nA: 1\r\n");
}

// A client certificate as a TLS-terminating proxy passes it on, which a
// service takes as verified: a client's copy goes no further (RFC 9440
// section 4), in any of the names proxies use, in any case.
TEST(ForwardedRequestFieldsTest, AClientsCertificateFieldsGoNoFurther) {
  const Fields in = {
      {"Client-Cert", ":MIIB...:"},
      {"client-cert-chain", ":MIIB...:"},
      {"X-SSL-Client-Cert", "-----BEGIN"},
      {"X-SSL-Client-S-DN", "CN=admin"},
      {"X-SSL-Cert", "-----BEGIN"},
      {"ssl-client-cert", "-----BEGIN"},
      {"SSL-Client-Verify", "SUCCESS"},
      {"X-Client-Cert", "-----BEGIN"},
      {"X-Client-Verify", "SUCCESS"},
      {"X-ARR-ClientCert", "MIIB"},
      {"X-Amzn-Mtls-Clientcert", "-----BEGIN"},
      {"x-amzn-mtls-clientcert-leaf", "-----BEGIN"},
      {"Client", "kept"},
      {"X-Client", "kept"},
      {"A", "1"},
  };
  std::string out;
  AppendForwardedRequestFields(in, {}, out);
  EXPECT_EQ(out, "Client: kept\r\nX-Client: kept\r\nA: 1\r\n");
}

// Where the gateway sets the request's id, a client's X-Request-Id (any case,
// every copy) goes no further; with ids off it passes like any field.
TEST(ForwardedRequestFieldsTest, AClientsRequestIdGoesOnlyWhereTheGatewaySetsNone) {
  const Fields in = {{"x-request-id", "forged"}, {"A", "1"}, {"X-Request-Id", "again"}};
  std::string out;
  AppendForwardedRequestFields(in, {.request_id = true}, out);
  EXPECT_EQ(out, "A: 1\r\n");
  out.clear();
  AppendForwardedRequestFields(in, {}, out);
  EXPECT_EQ(out, "x-request-id: forged\r\nA: 1\r\nX-Request-Id: again\r\n");
}

// A route's request_headers rules drop every copy of the fields they name,
// in any case.
TEST(ForwardedRequestFieldsTest, FieldsARouteRemovesGoNoFurther) {
  const Fields in = {{"cookie", "a=1"}, {"A", "1"}, {"Cookie", "b=2"}, {"X-Debug", "on"}};
  const std::vector<std::string> drop = {"Cookie", "x-debug"};
  std::string out;
  AppendForwardedRequestFields(in, {.named = drop}, out);
  EXPECT_EQ(out, "A: 1\r\n");
}

// A route's response_headers rules: the fields named go from the lines
// passed on, every copy in any case, and those set are added once; the
// fields of Bulwark's own answer stay, and none is set beside them.
TEST(ResponseFieldRulesTest, RemovesThenSets) {
  FieldRules rules;
  rules.set = {{"Strict-Transport-Security", "max-age=600"}};
  rules.remove = {"Server", "x-powered-by", "Strict-Transport-Security"};
  net::HttpResponse response;
  response.passed_on_fields =
      "Server: nginx\r\nContent-Type: text/plain\r\nX-Powered-By: php\r\n"
      "strict-transport-security: max-age=1\r\nX-Powered-By-Other: kept\r\nx-powered-by: again\r\n";
  ApplyResponseFieldRules(rules, response);
  EXPECT_EQ(response.passed_on_fields,
            "Content-Type: text/plain\r\nX-Powered-By-Other: kept\r\n"
            "Strict-Transport-Security: max-age=600\r\n");
  // A refusal of Bulwark's: its own fields are not the rules' to change.
  FieldRules caching;
  caching.set = {{"Cache-Control", "public, max-age=600"}, {"X-Frame-Options", "DENY"}};
  caching.remove = {"Cache-Control", "X-Frame-Options", "Content-Type"};
  net::HttpResponse refusal;
  refusal.headers = {{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}};
  ApplyResponseFieldRules(caching, refusal);
  EXPECT_EQ(refusal.headers,
            (Fields{{"Content-Type", "text/plain"}, {"Cache-Control", "no-store"}}));
  EXPECT_EQ(refusal.passed_on_fields, "X-Frame-Options: DENY\r\n");
}

}  // namespace
}  // namespace bulwark::gateway
