// horde_grpc_target: the gRPC service the tests aim horde at (tests/grpc_target/
// echo.proto). Say echoes its text, or ends with the requested grpc status, after
// the requested delay; Stats returns how many Say calls arrived, by status, so a
// test can check horde's counts against the server's. Built on gRPC's callback
// API: delays wait on a gRPC alarm, not on a thread, so thousands of concurrent
// slow calls need no threads. Prints "listening on 127.0.0.1:<port>" once ready
// and "calls <n>" on SIGTERM/SIGINT before exiting.
//
// Usage: horde_grpc_target [--port N] [--tls-cert FILE --tls-key FILE]

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "echo.grpc.pb.h"

namespace {

constexpr int kMaxDelayMs = 60'000;
constexpr size_t kCodes = 17;

std::atomic<uint64_t> g_calls{0};
std::array<std::atomic<uint64_t>, kCodes + 1> g_status{};  // last slot: codes > 16

// Finishes the call when its alarm fires; deletes itself when gRPC is done with it.
class DelayedFinish : public grpc::ServerUnaryReactor {
 public:
  DelayedFinish(grpc::Status status, std::chrono::milliseconds delay) {
    alarm_.Set(std::chrono::system_clock::now() + delay, [this, status](bool) { Finish(status); });
  }
  // The client gave up (deadline, reset): end now rather than hold the call until the alarm.
  void OnCancel() override { alarm_.Cancel(); }
  void OnDone() override { delete this; }

 private:
  grpc::Alarm alarm_;
};

class EchoService final : public horde::test::Echo::CallbackService {
  grpc::ServerUnaryReactor* Say(grpc::CallbackServerContext* ctx,
                                const horde::test::SayRequest* req,
                                horde::test::SayReply* reply) override {
    g_calls.fetch_add(1, std::memory_order_relaxed);
    const int code = req->code();
    g_status[code >= 0 && static_cast<size_t>(code) < kCodes ? code : kCodes].fetch_add(
        1, std::memory_order_relaxed);
    grpc::Status status = grpc::Status::OK;
    if (code != 0) {
      status = grpc::Status(static_cast<grpc::StatusCode>(code), "status requested by the call");
    } else {
      reply->set_text(req->text());
    }
    const int delay = std::min(std::max(req->delay_ms(), 0), kMaxDelayMs);
    if (delay > 0) return new DelayedFinish(status, std::chrono::milliseconds(delay));
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* ctx,
                                  const horde::test::StatsRequest*,
                                  horde::test::StatsReply* reply) override {
    reply->set_calls(g_calls.load());
    for (size_t c = 0; c <= kCodes; ++c) {
      if (const uint64_t n = g_status[c].load(); n > 0) {
        (*reply->mutable_status_counts())[static_cast<uint32_t>(c)] = n;
      }
    }
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "horde_grpc_target: %s\nusage: horde_grpc_target [--port N] "
               "[--tls-cert FILE --tls-key FILE]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string cert_file;
  std::string key_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + arg).c_str());
    if (arg == "--port") {
      port = std::atoi(argv[++i]);
      if (port < 0 || port > 65535) return usage("--port: expected 0..65535");
    } else if (arg == "--tls-cert") {
      cert_file = argv[++i];
    } else if (arg == "--tls-key") {
      key_file = argv[++i];
    } else {
      return usage(("unknown option " + arg).c_str());
    }
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!cert_file.empty() || !key_file.empty()) {
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!read_file(cert_file, &pair.cert_chain) || !read_file(key_file, &pair.private_key)) {
      return usage("--tls-cert and --tls-key: cannot read both files");
    }
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back(pair);
    creds = grpc::SslServerCredentials(options);
  }

  // Signals are taken by sigwait below, so block them before gRPC starts threads.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  EchoService service;
  int selected = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(port), creds, &selected);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || selected == 0) {
    std::fprintf(stderr, "horde_grpc_target: cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d\n", selected);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop, &sig);
  std::printf("calls %llu\n", static_cast<unsigned long long>(g_calls.load()));
  std::fflush(stdout);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
