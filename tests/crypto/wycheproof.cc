#include "wycheproof.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace bulwark::testing {

std::string TestDataDir() {
  const char* env = std::getenv("BULWARK_TESTDATA");
  return env != nullptr ? env : BULWARK_TESTDATA_DIR;
}

boost::json::object LoadWycheproof(const std::string& name) {
  std::string path = TestDataDir() + "/wycheproof/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(ss.str(), ec);
  EXPECT_FALSE(ec) << path << ": " << ec.message();
  return v.is_object() ? v.as_object() : boost::json::object{};
}

std::string FixedWidth(std::string v, size_t width) {
  while (v.size() > width && v[0] == '\0') v.erase(0, 1);
  if (v.size() < width) v.insert(0, width - v.size(), '\0');
  return v;
}

std::string Unhex(std::string_view hex) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nib(hex[i]) * 16 + nib(hex[i + 1])));
  }
  return out;
}

}  // namespace bulwark::testing
