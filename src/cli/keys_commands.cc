// bulwark keys generate --alg ALG [--kid KID] [--public]
// bulwark keys public --key FILE
#include <CLI/CLI.hpp>
#include <iostream>

#include <algorithm>
#include "cli/commands.h"
#include "crypto/secret_bytes.h"
#include "jose/jwk.h"

namespace bulwark::cli {

void RegisterKeysCommands(CLI::App& app, int& exit_code) {
  auto* keys = app.add_subcommand("keys", "Manage signing keys");
  keys->require_subcommand(1);
  auto* gen = keys->add_subcommand("generate", "Generate a signing key and print it as a JWK");
  struct Options {
    std::string alg, kid;
    bool public_only = false;
  };
  auto opts = std::make_shared<Options>();
  gen->add_option("--alg", opts->alg,
                  "JWS algorithm: EdDSA, ES256, ES384, ES512, RS256..PS512, HS256..HS512")
      ->required();
  gen->add_option("--kid", opts->kid, "Key id (default: the RFC 7638 thumbprint)");
  gen->add_flag("--public", opts->public_only, "Print the public JWK instead of the private one");
  gen->callback([opts, &exit_code] {
    auto alg = jose::ParseJwsAlgorithm(opts->alg);
    if (!alg) {
      std::cerr << "error: unknown algorithm '" << opts->alg << "'\n";
      exit_code = kExitUsage;
      return;
    }
    auto jwk = jose::Jwk::Generate(*alg, opts->kid);
    if (!jwk) {
      std::cerr << "error: " << jwk.error().message() << "\n";
      exit_code = kExitInvalid;
      return;
    }
    if (opts->public_only) {
      auto pub = jwk->PublicJwk();
      if (!pub) {
        std::cerr << "error: " << pub.error().message() << "\n";
        exit_code = kExitUsage;
        return;
      }
      std::cout << pub->ToJson() << "\n";
    } else {
      std::cout << jwk->ToJson(/*include_private=*/true) << "\n";
    }
  });

  auto* pub = keys->add_subcommand("public", "Print the public JWK of a private JWK file");
  auto path = std::make_shared<std::string>();
  pub->add_option("--key", *path, "Private JWK file")->required();
  pub->callback([path, &exit_code] {
    std::string text;
    if (!ReadFileOrComplain(*path, text)) {
      exit_code = kExitUsage;
      return;
    }
    auto jwk = jose::Jwk::Parse(text);
    crypto::WipeString(text);
    if (!jwk) {
      std::cerr << "error: " << *path << ": " << jwk.error().message() << "\n";
      exit_code = kExitUsage;
      return;
    }
    auto public_jwk = jwk->PublicJwk();
    if (!public_jwk) {
      std::cerr << "error: " << public_jwk.error().message() << "\n";
      exit_code = kExitUsage;
      return;
    }
    std::cout << public_jwk->ToJson() << "\n";
  });
}

}  // namespace bulwark::cli
