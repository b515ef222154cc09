#include "core/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdlib>
#include <string_view>

namespace bulwark {

bool KeepSecretsOutOfCoreDumps() {
  if (const char* keep = std::getenv("BULWARK_CORE_DUMPS");
      keep != nullptr && std::string_view(keep) == "1") {
    return false;
  }
  const rlimit none{.rlim_cur = 0, .rlim_max = 0};
  const bool no_core = setrlimit(RLIMIT_CORE, &none) == 0;
  const bool undumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  return no_core && undumpable;
}

}  // namespace bulwark
