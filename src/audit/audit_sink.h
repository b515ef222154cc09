// AuditSink: where audit events end up (a file, later a Merkle log or a
// remote collector).
#ifndef BULWARK_AUDIT_AUDIT_SINK_H_
#define BULWARK_AUDIT_AUDIT_SINK_H_

#include <string_view>

#include "audit/audit_event.h"
#include "core/status.h"

namespace bulwark::audit {

// A destination for batches of audit events. The AuditQueue calls Write and
// Flush from its single writer thread, so an implementation may assume that
// Write and Flush never run concurrently with each other; anything else it
// exposes (a Reopen, say) must document its own thread-safety. Write may block
// (disk, network): the queue absorbs that, the request path never waits on it.
class AuditSink {
 public:
  virtual ~AuditSink() = default;

  // Writes `lines`, a batch of events in order, each one JSON line as
  // AppendJsonLine makes it. On failure returns an error (a code of the
  // canonical set, a message naming the cause); some prefix of the batch may
  // have been written, the caller does not retry.
  virtual Status Write(std::string_view lines) = 0;

  // Makes everything written so far durable (or delivered). Returns an error
  // if that cannot be guaranteed.
  virtual Status Flush() = 0;
};

}  // namespace bulwark::audit

#endif  // BULWARK_AUDIT_AUDIT_SINK_H_
