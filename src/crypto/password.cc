#include "crypto/password.h"

#include <argon2.h>

#include <charconv>
#include <vector>

#include "crypto/random.h"

namespace bulwark::crypto {
namespace {

constexpr uint32_t kMaxMemoryKib = 1u << 20;  // 1 GiB
constexpr uint32_t kMaxIterations = 64;
constexpr uint32_t kMaxParallelism = 16;

Status CheckParams(const Argon2Params& p) {
  if (p.memory_kib < 8 * p.parallelism || p.memory_kib > kMaxMemoryKib || p.iterations < 1 ||
      p.iterations > kMaxIterations || p.parallelism < 1 || p.parallelism > kMaxParallelism ||
      p.salt_bytes < 16 || p.salt_bytes > 64 || p.hash_bytes < 16 || p.hash_bytes > 64) {
    return InvalidArgumentError("argon2 parameters out of range");
  }
  return OkStatus();
}

// Reads "$argon2id$v=19$m=..,t=..,p=..$" and returns the parameters.
Result<Argon2Params> ParsePhc(std::string_view phc) {
  constexpr std::string_view kPrefix = "$argon2id$v=19$";
  if (!phc.starts_with(kPrefix)) return Err(InvalidArgumentError("not an argon2id v19 hash"));
  std::string_view rest = phc.substr(kPrefix.size());
  Argon2Params p;
  for (auto [name, field] : {std::pair{"m=", &p.memory_kib}, std::pair{"t=", &p.iterations},
                             std::pair{"p=", &p.parallelism}}) {
    if (!rest.starts_with(name)) return Err(InvalidArgumentError("malformed argon2 parameters"));
    rest.remove_prefix(2);
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), *field);
    if (ec != std::errc() || ptr == rest.data()) {
      return Err(InvalidArgumentError("malformed argon2 parameters"));
    }
    rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
    if (rest.empty()) return Err(InvalidArgumentError("malformed argon2 parameters"));
    char sep = rest.front();
    if (sep != (name[0] == 'p' ? '$' : ',')) {
      return Err(InvalidArgumentError("malformed argon2 parameters"));
    }
    rest.remove_prefix(1);
  }
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) return Err(InvalidArgumentError("malformed argon2 hash"));
  // Unpadded base64 lengths of the salt and the hash.
  p.salt_bytes = static_cast<uint32_t>(dollar * 3 / 4);
  p.hash_bytes = static_cast<uint32_t>((rest.size() - dollar - 1) * 3 / 4);
  if (p.memory_kib > kMaxMemoryKib || p.iterations > kMaxIterations ||
      p.parallelism > kMaxParallelism || p.parallelism == 0 || p.iterations == 0) {
    return Err(InvalidArgumentError("argon2 parameters out of range"));
  }
  return p;
}

}  // namespace

Result<std::string> HashPassword(const SecretBytes& password, const Argon2Params& params) {
  BULWARK_RETURN_IF_ERROR(CheckParams(params));
  BULWARK_ASSIGN_OR_RETURN(std::string salt, RandomString(params.salt_bytes));
  size_t encoded_len = argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism,
                                         params.salt_bytes, params.hash_bytes, Argon2_id);
  std::string encoded(encoded_len, '\0');
  auto pw = password.ExposeSecret();
  int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism,
                                 pw.data(), pw.size(), salt.data(), salt.size(), params.hash_bytes,
                                 encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Err(InternalError("argon2 hashing failed"));
  if (size_t nul = encoded.find('\0'); nul != std::string::npos) encoded.resize(nul);
  return encoded;
}

Status VerifyPassword(const SecretBytes& password, std::string_view phc) {
  BULWARK_ASSIGN_OR_RETURN(Argon2Params params, ParsePhc(phc));
  (void)params;
  std::string encoded(phc);  // argon2 wants a NUL-terminated string
  auto pw = password.ExposeSecret();
  int rc = argon2id_verify(encoded.c_str(), pw.data(), pw.size());
  if (rc == ARGON2_OK) return OkStatus();
  if (rc == ARGON2_VERIFY_MISMATCH) return UnauthenticatedError("password does not match");
  return InvalidArgumentError("malformed argon2 hash");
}

bool NeedsRehash(std::string_view phc, const Argon2Params& params) {
  auto p = ParsePhc(phc);
  if (!p) return true;
  return p->memory_kib < params.memory_kib || p->iterations < params.iterations ||
         p->parallelism < params.parallelism || p->hash_bytes < params.hash_bytes ||
         p->salt_bytes < params.salt_bytes;
}

}  // namespace bulwark::crypto
