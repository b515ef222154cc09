#include "gateway/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace bulwark::gateway {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes_.data()) == 1) {
    ip.v4_ = true;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes_.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, ip.bytes_.begin())) {
    std::copy(ip.bytes_.begin() + 12, ip.bytes_.end(), ip.bytes_.begin());
    std::fill(ip.bytes_.begin() + 4, ip.bytes_.end(), 0);
    ip.v4_ = true;
  }
  return ip;
}

Result<CidrRange> CidrRange::Parse(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip) return Err(InvalidArgumentError("not an IP address or CIDR range"));
  CidrRange range;
  range.base_ = *ip;
  const int max_bits = ip->is_v4() ? 32 : 128;
  range.prefix_bits_ = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), range.prefix_bits_);
    if (bits.empty() || ec != std::errc() || ptr != bits.data() + bits.size() ||
        range.prefix_bits_ < 0 || range.prefix_bits_ > max_bits) {
      return Err(InvalidArgumentError("bad CIDR prefix length"));
    }
  }
  for (int bit = range.prefix_bits_; bit < max_bits; ++bit) {
    if (ip->bytes()[bit / 8] & (0x80 >> (bit % 8))) {
      return Err(InvalidArgumentError("CIDR range has host bits set"));
    }
  }
  return range;
}

bool CidrRange::Contains(const IpAddress& ip) const {
  if (ip.is_v4() != base_.is_v4()) return false;
  const int full = prefix_bits_ / 8;
  for (int i = 0; i < full; ++i) {
    if (ip.bytes()[i] != base_.bytes()[i]) return false;
  }
  const int rest = prefix_bits_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes()[full] & mask) == (base_.bytes()[full] & mask);
}

bool AnyContains(std::span<const CidrRange> ranges, const IpAddress& ip) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&ip](const CidrRange& range) { return range.Contains(ip); });
}

}  // namespace bulwark::gateway
