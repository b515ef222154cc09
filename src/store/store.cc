#include "store/store.h"

namespace bulwark::store {

namespace {
constexpr std::string_view kEndOfKeyspace("\0", 1);
}  // namespace

KeyRange KeyRange::Prefix(std::string_view prefix) {
  return {std::string(prefix), PrefixEnd(prefix)};
}

bool KeyRange::Contains(std::string_view key) const {
  if (single_key()) return key == begin;
  if (key < std::string_view(begin)) return false;
  return end == kEndOfKeyspace || key < std::string_view(end);
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(kEndOfKeyspace);
}

}  // namespace bulwark::store
