// Audit benchmarks: what recording a decision costs the request path.
//
// BM_AuditTryEnqueue offers an event as the gateway does, as a view whose
// strings the queue copies into a slot, to an AuditQueue whose writer appends
// to a JSON-lines file in a temp dir. items/s counts offers; `accepted` is the rate of offers the
// queue took, `dropped_pct` the share refused because the writer (serializing
// and writing to the file) fell behind. BM_AuditAppendJsonLine is the writer's
// per-event serialization cost, BM_AuditEventCopy the copy alone.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "audit/audit_event.h"
#include "audit/audit_queue.h"
#include "audit/file_audit_sink.h"

namespace {

using bulwark::audit::AuditDecision;
using bulwark::audit::AuditEvent;
using bulwark::audit::AuditQueue;
using bulwark::audit::FileAuditSink;

AuditEvent TemplateEvent() {
  AuditEvent e;
  e.time = std::chrono::system_clock::now();
  e.request_id = "7f3c9a1e2b4d4c8f9a0b1c2d3e4f5a6b";
  e.subject = "spiffe://prod.example/ns/payments/sa/api";
  e.issuer = "https://issuer.example";
  e.credential_kind = "jwt";
  e.action = "GET";
  e.resource = "/v1/accounts/12345/transactions";
  e.route = "accounts";
  e.host = "api.example.com";
  e.client_ip = "203.0.113.7";
  e.decision = AuditDecision::kAllow;
  e.status = 200;
  e.reason = "policy permit:accounts-read";
  e.latency = std::chrono::microseconds(87);
  return e;
}

struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<FileAuditSink> sink;
  std::unique_ptr<AuditQueue> queue;
};
Fixture* g_fixture = nullptr;

void BM_AuditTryEnqueue(benchmark::State& state) {
  if (state.thread_index() == 0) {
    std::string dir = (std::filesystem::temp_directory_path() / "bulwark-bench-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) abort();
    g_fixture = new Fixture{dir};
    auto sink = FileAuditSink::Open({.path = dir + "/audit.log"});
    if (!sink) abort();
    g_fixture->sink = std::move(*sink);
    auto queue = AuditQueue::Create(*g_fixture->sink);
    if (!queue) abort();
    g_fixture->queue = std::move(*queue);
  }
  const AuditEvent event = TemplateEvent();
  const bulwark::audit::AuditEventView view = bulwark::audit::ViewOf(event);
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_fixture->queue->TryEnqueue(view));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    AuditQueue& q = *g_fixture->queue;
    auto offered = static_cast<double>(q.enqueued() + q.dropped());
    state.counters["accepted"] =
        benchmark::Counter(static_cast<double>(q.enqueued()), benchmark::Counter::kIsRate);
    state.counters["dropped_pct"] = offered > 0 ? 100.0 * q.dropped() / offered : 0.0;
    q.Stop();
    std::filesystem::remove_all(g_fixture->dir);
    delete g_fixture;
    g_fixture = nullptr;
  }
}
BENCHMARK(BM_AuditTryEnqueue)->Threads(1)->Threads(2)->UseRealTime();

// What a producer that builds its own AuditEvent pays before TryEnqueue:
// copying the strings (five too long for the small-string buffer).
void BM_AuditEventCopy(benchmark::State& state) {
  const AuditEvent event = TemplateEvent();
  for (auto _ : state) {
    AuditEvent copy = event;
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditEventCopy);

void BM_AuditAppendJsonLine(benchmark::State& state) {
  const AuditEvent event = TemplateEvent();
  std::string out;
  for (auto _ : state) {
    out.clear();
    bulwark::audit::AppendJsonLine(event, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}
BENCHMARK(BM_AuditAppendJsonLine);

}  // namespace

BENCHMARK_MAIN();
