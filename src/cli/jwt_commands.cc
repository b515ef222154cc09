// bulwark jwt sign | jwt verify | jws verify
#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/clock.h"
#include "crypto/secret_bytes.h"
#include "jose/json.h"
#include "jose/jwt.h"

namespace bulwark::cli {
namespace {

// Loads a JWK or JWKS file; prints the problem and returns nullopt on failure.
std::optional<jose::Jwks> LoadKeys(const std::string& path) {
  std::string text;
  if (!ReadFileOrComplain(path, text)) return std::nullopt;
  auto keys = jose::Jwks::ParseKeyOrSet(text);
  crypto::WipeString(text);  // a private key's text
  if (!keys) {
    std::cerr << "error: " << path << ": " << keys.error().message() << "\n";
    return std::nullopt;
  }
  if (keys->empty()) {
    std::cerr << "error: " << path << ": no usable key\n";
    return std::nullopt;
  }
  return std::move(*keys);
}

// A token argument of "-" is read from standard input.
bool ResolveToken(std::string& token) {
  if (token == "-" && !ReadFileOrComplain("-", token)) return false;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return true;
}

void RegisterSign(CLI::App& jwt, int& exit_code) {
  struct Options {
    std::string key, claims, typ = "JWT";
    int64_t count = 1;
  };
  auto o = std::make_shared<Options>();
  auto* sign = jwt.add_subcommand("sign", "Sign claims as a JWT with a private JWK");
  sign->add_option("--key", o->key, "Private JWK (or JWKS holding one private key) file")
      ->required();
  sign->add_option("--claims", o->claims, "Claims as a JSON object, or @FILE")->required();
  sign->add_option("--typ", o->typ, "Header typ (JWT; at+jwt for access tokens)");
  sign->add_option("--count", o->count,
                   "Print this many tokens, one per line, each with its own \"jti\" "
                   "(for load tests)")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  sign->callback([o, &exit_code] {
    auto keys = LoadKeys(o->key);
    if (!keys) {
      exit_code = kExitUsage;
      return;
    }
    const jose::Jwk* signer = nullptr;
    for (const auto& k : keys->keys()) {
      if (k.is_private()) {
        if (signer != nullptr) {
          std::cerr << "error: " << o->key << " holds more than one private key\n";
          exit_code = kExitUsage;
          return;
        }
        signer = &k;
      }
    }
    if (signer == nullptr) {
      std::cerr << "error: " << o->key << " holds no private key\n";
      exit_code = kExitUsage;
      return;
    }
    std::string claims_text = o->claims;
    if (claims_text.starts_with("@") && !ReadFileOrComplain(claims_text.substr(1), claims_text)) {
      exit_code = kExitUsage;
      return;
    }
    auto claims = jose::ParseJsonObject(claims_text);
    if (!claims) {
      std::cerr << "error: --claims: " << claims.error().message() << "\n";
      exit_code = kExitUsage;
      return;
    }
    std::string out;
    for (int64_t i = 0; i < o->count; ++i) {
      if (o->count > 1) (*claims)["jti"] = std::to_string(i);
      auto token = jose::SignJwt(*signer, *claims, o->typ);
      if (!token) {
        std::cerr << "error: " << token.error().message() << "\n";
        exit_code = kExitInvalid;
        return;
      }
      out.append(*token).push_back('\n');
      if (out.size() > (1 << 20)) {
        std::cout << out;
        out.clear();
      }
    }
    std::cout << out;
  });
}

void RegisterVerify(CLI::App& jwt, int& exit_code) {
  struct Options {
    std::string jwks, token, typ;
    std::vector<std::string> iss, aud;
    int64_t leeway = 60;
    int64_t max_lifetime = 0;
  };
  auto o = std::make_shared<Options>();
  auto* verify = jwt.add_subcommand("verify", "Verify a JWT: signature and claims");
  verify->add_option("--jwks", o->jwks, "JWKS or JWK file with the public keys")->required();
  verify->add_option("--iss", o->iss, "Accepted issuer (repeatable)");
  verify->add_option("--aud", o->aud, "Required audience (repeatable; one must match)");
  verify->add_option("--leeway", o->leeway, "Allowed clock skew in seconds")
      ->check(CLI::Range(0, 3600));
  verify->add_option("--typ", o->typ, "Required header typ, e.g. at+jwt");
  verify->add_option("--max-lifetime", o->max_lifetime, "Maximum exp - iat in seconds");
  verify->add_option("token", o->token, "The token, or - to read it from stdin")->required();
  verify->callback([o, &exit_code] {
    auto keys = LoadKeys(o->jwks);
    if (!keys || !ResolveToken(o->token)) {
      exit_code = kExitUsage;
      return;
    }
    jose::JwtValidationOptions opts;
    opts.issuers = o->iss;
    opts.audiences = o->aud;
    opts.leeway = std::chrono::seconds(o->leeway);
    opts.required_typ = o->typ;
    if (o->max_lifetime > 0) opts.max_lifetime = std::chrono::seconds(o->max_lifetime);
    opts.cache_capacity = 0;
    auto verifier = jose::JwtVerifier::Create(std::move(*keys), opts, SystemClock::Default());
    if (!verifier) {
      std::cerr << "error: " << verifier.error().message() << "\n";
      exit_code = kExitUsage;
      return;
    }
    auto jwt = (*verifier)->Verify(o->token);
    if (!jwt) {
      std::cerr << "invalid: " << jwt.error().message() << "\n";
      exit_code = kExitInvalid;
      return;
    }
    std::cout << boost::json::serialize((*jwt)->claims()) << "\n";
  });
}

void RegisterJwsVerify(CLI::App& app, int& exit_code) {
  auto* jws = app.add_subcommand("jws", "JSON Web Signatures");
  jws->require_subcommand(1);
  struct Options {
    std::string jwk, token;
  };
  auto o = std::make_shared<Options>();
  auto* verify = jws->add_subcommand("verify", "Verify a compact JWS signature (any payload)");
  verify->add_option("--jwk", o->jwk, "JWK or JWKS file with the public key")->required();
  verify->add_option("token", o->token, "The JWS, or - to read it from stdin")->required();
  verify->callback([o, &exit_code] {
    auto keys = LoadKeys(o->jwk);
    if (!keys || !ResolveToken(o->token)) {
      exit_code = kExitUsage;
      return;
    }
    auto verified = jose::VerifyCompactJws(o->token, *keys);
    if (!verified) {
      std::cerr << "invalid: " << verified.error().message() << "\n";
      exit_code = kExitInvalid;
      return;
    }
    std::cout << verified->payload() << "\n";
  });
}

}  // namespace

void RegisterJwtCommands(CLI::App& app, int& exit_code) {
  auto* jwt = app.add_subcommand("jwt", "JSON Web Tokens");
  jwt->require_subcommand(1);
  RegisterSign(*jwt, exit_code);
  RegisterVerify(*jwt, exit_code);
  RegisterJwsVerify(app, exit_code);
}

}  // namespace bulwark::cli
