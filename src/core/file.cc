#include "core/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

Result<std::string> ReadSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(NotFoundError("cannot read '" + path + "'"));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || info.st_size > (1 << 20)) {
    ::close(fd);
    return Err(InvalidArgumentError("'" + path + "' is not a regular file of at most 1 MiB"));
  }
  // One byte more than its size, so that a file that grew since is told by
  // a read that fills it, not taken in part.
  std::string text(static_cast<size_t>(info.st_size) + 1, '\0');
  size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(fd, text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  ::close(fd);
  if (filled == text.size()) {
    std::fill(text.begin(), text.end(), '\0');
    return Err(UnavailableError("'" + path + "' changed while it was read"));
  }
  text[filled] = '\0';
  text.resize(filled);  // shrinks in place: the bytes stay in this buffer
  return text;
}

}  // namespace bulwark
