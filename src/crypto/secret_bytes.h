// SecretBytes: key material, passwords and other secrets.
//
// The bytes are wiped when the object is destroyed or overwritten. There is
// no stream operator and no formatter, so a secret cannot be logged or
// printed by accident; reading the raw bytes is the explicit, greppable call
// ExposeSecret(). Equality is constant time. Move-only; Clone() copies.
#ifndef BULWARK_CRYPTO_SECRET_BYTES_H_
#define BULWARK_CRYPTO_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size, 0) {}
  // Copies `data`; the caller remains responsible for wiping its own copy.
  explicit SecretBytes(std::span<const uint8_t> data) : bytes_(data.begin(), data.end()) {}
  static SecretBytes FromString(std::string_view s) {
    return SecretBytes(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const { return SecretBytes(std::span<const uint8_t>(bytes_)); }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }

  // The raw bytes. Every use is a place where a secret leaves its box.
  std::span<const uint8_t> ExposeSecret() const { return bytes_; }
  std::span<uint8_t> MutableSecret() { return bytes_; }
  std::string_view ExposeSecretAsString() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

  // Constant-time in the contents (lengths are not secret).
  friend bool operator==(const SecretBytes& a, const SecretBytes& b);

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

// Overwrites a string's bytes with zeros (in a way the compiler cannot drop)
// and empties it: for the short-lived copies a secret passes through on its
// way into or out of SecretBytes.
void WipeString(std::string& s);

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_SECRET_BYTES_H_
