#include "core/file.h"

#include <fstream>
#include <sstream>

namespace bulwark {

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(NotFoundError("cannot read '" + path + "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace bulwark
