#include "net/upstream_tls_context.h"

#include <utility>

#include "core/log.h"
#include "net/tls_context.h"

namespace bulwark::net {

namespace asio = boost::asio;

Result<std::shared_ptr<UpstreamTlsContext>> UpstreamTlsContext::Create(
    UpstreamTls tls, std::chrono::milliseconds recheck) {
  std::shared_ptr<UpstreamTlsContext> source(new UpstreamTlsContext(std::move(tls), recheck));
  source->signature_ = internal::FilesSignature(source->Files());
  BULWARK_ASSIGN_OR_RETURN(
      source->current_, internal::BuildClientContext(source->tls_.ca_file, source->tls_.cert_file,
                                                     source->tls_.key_file));
  source->next_look_ =
      (std::chrono::steady_clock::now() + source->recheck_).time_since_epoch().count();
  return source;
}

UpstreamTlsContext::UpstreamTlsContext(UpstreamTls tls, std::chrono::milliseconds recheck)
    : tls_(std::move(tls)), recheck_(recheck) {}

UpstreamTlsContext::~UpstreamTlsContext() {
  std::lock_guard<std::mutex> look(look_mu_);
  if (loader_.joinable()) loader_.join();
}

std::vector<std::string> UpstreamTlsContext::Files() const {
  std::vector<std::string> files;
  for (const std::string* file : {&tls_.ca_file, &tls_.cert_file, &tls_.key_file}) {
    if (!file->empty()) files.push_back(*file);
  }
  return files;
}

std::shared_ptr<asio::ssl::context> UpstreamTlsContext::Current() {
  if (std::chrono::steady_clock::now().time_since_epoch().count() >=
      next_look_.load(std::memory_order_relaxed)) {
    Recheck();
  }
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void UpstreamTlsContext::Recheck() {
  std::unique_lock<std::mutex> look(look_mu_, std::try_to_lock);
  if (!look.owns_lock()) return;  // another thread is looking: take what is there
  const auto now = std::chrono::steady_clock::now();
  if (now.time_since_epoch().count() < next_look_.load(std::memory_order_relaxed)) return;
  next_look_.store((now + recheck_).time_since_epoch().count(), std::memory_order_relaxed);
  // One load at a time; a change made while it runs is seen by a later look.
  if (loading_.load(std::memory_order_acquire)) return;
  std::string signature = internal::FilesSignature(Files());
  if (signature == signature_) return;
  signature_ = std::move(signature);       // a load that fails waits for the next change
  if (loader_.joinable()) loader_.join();  // finished: loading_ was false
  loading_.store(true, std::memory_order_relaxed);
  loader_ = std::thread([this] {
    Load();
    loading_.store(false, std::memory_order_release);
  });
}

void UpstreamTlsContext::Load() {
  auto built = internal::BuildClientContext(tls_.ca_file, tls_.cert_file, tls_.key_file);
  if (!built) {
    log::Warn("net.upstream_tls.reload_failed",
              {{"error", built.error().message()}, {"kept", "previous context"}});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(*built);
  }
  log::Info("net.upstream_tls.reloaded",
            {{"cert_file", tls_.cert_file}, {"ca_file", tls_.ca_file}});
}

}  // namespace bulwark::net
