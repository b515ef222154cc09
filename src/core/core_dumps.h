// Keeps a process's memory (tokens in flight, API keys, private keys, the
// store's secrets) off the disk when it crashes: no core dump (RLIMIT_CORE
// 0, so neither the kernel nor a core_pattern pipe such as
// systemd-coredump gets one) and not dumpable (PR_SET_DUMPABLE 0, which
// also keeps other processes of the same user from attaching to it or
// reading its /proc/<pid>/mem). A developer chasing a crash sets
// BULWARK_CORE_DUMPS=1 to keep them.
#ifndef BULWARK_CORE_CORE_DUMPS_H_
#define BULWARK_CORE_CORE_DUMPS_H_

namespace bulwark {

// Called first thing in main. Returns whether dumps are now off (false
// with BULWARK_CORE_DUMPS=1, or if the kernel refused).
bool KeepSecretsOutOfCoreDumps();

}  // namespace bulwark

#endif  // BULWARK_CORE_CORE_DUMPS_H_
