// IP addresses and CIDR ranges for route rules (allow/deny by client address).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match as the IPv4 address.
#ifndef BULWARK_GATEWAY_IP_ADDRESS_H_
#define BULWARK_GATEWAY_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/status.h"

namespace bulwark::gateway {

class IpAddress {
 public:
  // nullopt unless `text` is an IPv4 dotted quad or an IPv6 literal.
  static std::optional<IpAddress> Parse(std::string_view text);
  bool is_v4() const { return v4_; }
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }  // v4 uses the first 4

 private:
  std::array<uint8_t, 16> bytes_{};
  bool v4_ = false;
};

class CidrRange {
 public:
  // "10.0.0.0/8", "2001:db8::/32", or a single address. kInvalidArgument if
  // malformed, the prefix is too long, or host bits are set ("10.0.0.1/8").
  static Result<CidrRange> Parse(std::string_view text);
  bool Contains(const IpAddress& ip) const;

 private:
  IpAddress base_;
  int prefix_bits_ = 0;
};

// Whether any of `ranges` holds `ip`.
bool AnyContains(std::span<const CidrRange> ranges, const IpAddress& ip);

}  // namespace bulwark::gateway

#endif  // BULWARK_GATEWAY_IP_ADDRESS_H_
