// mTLS as a route credential: the listener's verified client certificate
// (its SPIFFE ID) alone, or together with a JWT, and what is refused.
#include <gtest/gtest.h>

#include "gateway/gateway.h"
#include "gateway_fixture.h"

namespace bulwark::gateway::testing {
namespace {

net::TlsConnectionInfo Verified(std::string spiffe_id) {
  return {.version = "TLSv1.3",
          .client_verified = true,
          .client_subject = "CN=web,O=Example",
          .spiffe_id = std::move(spiffe_id),
          .client_cert_sha256 = std::string(32, 'x')};
}

Route MtlsRoute(AuthnMode mode, std::vector<CredentialKind> kinds, RouteAuthz authz = {}) {
  return {.name = "internal",
          .path_prefix = "/internal",
          .authn = {.mode = mode, .credentials = std::move(kinds)},
          .authz = std::move(authz)};
}

class MtlsGatewayTest : public GatewayTest {
 protected:
  Decision DecideTls(const Gateway& gw, const net::TlsConnectionInfo* tls,
                     std::string_view authorization = "") {
    return gw.Decide({.method = "GET",
                      .host = "api.example",
                      .target = "/internal/jobs",
                      .authorization = authorization,
                      .authorization_count = authorization.empty() ? 0 : 1,
                      .client_ip = "10.0.0.9",
                      .tls = tls != nullptr,
                      .tls_info = tls});
  }
};

TEST_F(MtlsGatewayTest, VerifiedCertificateIsThePrincipal) {
  auto gw = Make({MtlsRoute(AuthnMode::kAnyOf, {CredentialKind::kMtls},
                            {.spiffe_trust_domains = {"prod.example"}})});
  const net::TlsConnectionInfo tls = Verified("spiffe://prod.example/ns/shop/sa/web");
  Decision d = DecideTls(*gw, &tls);
  ASSERT_EQ(d.status, 200) << d.reason;
  EXPECT_EQ(d.principal->credential(), CredentialKind::kMtls);
  EXPECT_EQ(d.principal->subject(), "spiffe://prod.example/ns/shop/sa/web");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Spiffe-Id"),
            "spiffe://prod.example/ns/shop/sa/web");
  EXPECT_EQ(HeaderOf(d.identity_headers(), "X-Bulwark-Credential"), "mtls");
}

TEST_F(MtlsGatewayTest, OtherTrustDomainIsForbidden) {
  auto gw = Make({MtlsRoute(AuthnMode::kAnyOf, {CredentialKind::kMtls},
                            {.spiffe_trust_domains = {"prod.example"}})});
  const net::TlsConnectionInfo tls = Verified("spiffe://staging.example/ns/shop/sa/web");
  EXPECT_EQ(DecideTls(*gw, &tls).status, 403);
  // A look-alike domain is not a subdomain match either.
  const net::TlsConnectionInfo lookalike = Verified("spiffe://prod.example.evil/ns/x");
  EXPECT_EQ(DecideTls(*gw, &lookalike).status, 403);
}

TEST_F(MtlsGatewayTest, NoCertificateOrAnUnverifiedOneIsRefused) {
  auto gw = Make({MtlsRoute(AuthnMode::kAnyOf, {CredentialKind::kMtls})});
  EXPECT_EQ(DecideTls(*gw, nullptr).status, 403);  // plaintext
  net::TlsConnectionInfo unverified = Verified("spiffe://prod.example/web");
  unverified.client_verified = false;
  Decision d = DecideTls(*gw, &unverified);
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.reason, "client certificate required");
  // A bearer token does not stand in for a certificate the route demands.
  EXPECT_EQ(DecideTls(*gw, nullptr, Bearer(Claims())).status, 403);
}

TEST_F(MtlsGatewayTest, PrincipalRuleMatchesSpiffeIdPrefix) {
  auto gw = Make({MtlsRoute(AuthnMode::kAnyOf, {CredentialKind::kMtls},
                            {.principals = {"spiffe://prod.example/ns/shop/*"}})});
  const net::TlsConnectionInfo shop = Verified("spiffe://prod.example/ns/shop/sa/web");
  const net::TlsConnectionInfo other = Verified("spiffe://prod.example/ns/billing/sa/web");
  EXPECT_EQ(DecideTls(*gw, &shop).status, 200);
  EXPECT_EQ(DecideTls(*gw, &other).status, 403);
}

TEST_F(MtlsGatewayTest, AllOfNeedsCertificateAndTokenAndBindsThem) {
  auto gw = Make({MtlsRoute(AuthnMode::kAllOf, {CredentialKind::kMtls, CredentialKind::kJwt})});
  const net::TlsConnectionInfo tls = Verified("spiffe://prod.example/ns/shop/sa/web");
  Decision both = DecideTls(*gw, &tls, Bearer(Claims()));
  ASSERT_EQ(both.status, 200) << both.reason;
  EXPECT_EQ(both.principal->subject(), "alice");  // the user the workload acts for
  EXPECT_EQ(both.principal->spiffe_id(), "spiffe://prod.example/ns/shop/sa/web");
  EXPECT_EQ(both.principal->cert_sha256().size(), 32u);

  Decision no_token = DecideTls(*gw, &tls);
  EXPECT_EQ(no_token.status, 401);
  EXPECT_EQ(HeaderOf(no_token.response_fields, "WWW-Authenticate"), "Bearer realm=\"bulwark\"");
  EXPECT_EQ(DecideTls(*gw, nullptr, Bearer(Claims())).status, 403);
  // A bad token is refused even with a good certificate.
  auto expired = Claims();
  expired["exp"] = kNow - 3600;
  EXPECT_EQ(DecideTls(*gw, &tls, Bearer(expired)).status, 401);
}

TEST_F(MtlsGatewayTest, AnyOfTakesEitherButRefusesABadToken) {
  auto gw = Make({MtlsRoute(AuthnMode::kAnyOf, {CredentialKind::kMtls, CredentialKind::kJwt})});
  const net::TlsConnectionInfo tls = Verified("spiffe://prod.example/ns/shop/sa/web");
  EXPECT_EQ(DecideTls(*gw, &tls).status, 200);
  EXPECT_EQ(DecideTls(*gw, nullptr, Bearer(Claims())).status, 200);
  EXPECT_EQ(DecideTls(*gw, nullptr).status, 401);
  EXPECT_EQ(DecideTls(*gw, &tls, "Bearer not.a.jwt").status, 401);
}

TEST_F(MtlsGatewayTest, BindingACertificateDoesNotFollowTheTokenToOtherConnections) {
  // One token's principal is shared between requests: binding one
  // connection's certificate to it must not show on another connection.
  auto gw = Make({MtlsRoute(AuthnMode::kAnyOf, {CredentialKind::kMtls, CredentialKind::kJwt})});
  const std::string token = Bearer(Claims());
  const net::TlsConnectionInfo web = Verified("spiffe://prod.example/ns/shop/sa/web");
  const net::TlsConnectionInfo batch = Verified("spiffe://prod.example/ns/shop/sa/batch");
  Decision first = DecideTls(*gw, &web, token);
  ASSERT_EQ(first.status, 200) << first.reason;
  EXPECT_EQ(first.principal->spiffe_id(), "spiffe://prod.example/ns/shop/sa/web");
  Decision other = DecideTls(*gw, &batch, token);
  ASSERT_EQ(other.status, 200) << other.reason;
  EXPECT_EQ(other.principal->spiffe_id(), "spiffe://prod.example/ns/shop/sa/batch");
  Decision plain = DecideTls(*gw, nullptr, token);
  ASSERT_EQ(plain.status, 200) << plain.reason;
  EXPECT_EQ(plain.principal->spiffe_id(), "");
  EXPECT_EQ(HeaderOf(plain.identity_headers(), "X-Bulwark-Spiffe-Id"), "");
  EXPECT_EQ(first.principal->spiffe_id(), "spiffe://prod.example/ns/shop/sa/web");
  // The lines the upstream gets follow each binding too.
  EXPECT_NE(first.principal->identity_fields().find(
                "X-Bulwark-Spiffe-Id: spiffe://prod.example/ns/shop/sa/web\r\n"),
            std::string::npos);
  EXPECT_NE(other.principal->identity_fields().find(
                "X-Bulwark-Spiffe-Id: spiffe://prod.example/ns/shop/sa/batch\r\n"),
            std::string::npos);
  EXPECT_EQ(plain.principal->identity_fields().find("Spiffe"), std::string::npos);
}

}  // namespace
}  // namespace bulwark::gateway::testing
