// Debian's nginx for integration tests: started on a free loopback port with
// its own config in a test directory, answering "ok\n" on every path, with an
// access log the tests can count. It listens for HTTP/1.1 on port() and for
// HTTP/2 with prior knowledge (h2c) on h2_port(); paths under /missing/ answer 404.
#pragma once

#include <signal.h>

#include "tests/integration/harness.h"

namespace horde::testing {

inline constexpr const char* kNginx = "/usr/sbin/nginx";

class Nginx {
 public:
  // `log_format`: nginx variables for each access log line (e.g. "$connection
  // $connection_requests $request_uri"); empty: nginx's combined format.
  explicit Nginx(const std::filesystem::path& dir, std::string log_format = "")
      : dir_(dir), port_(free_port()), h2_port_(free_port()), log_format_(std::move(log_format)) {
    write_file(dir / "nginx.conf", fmt_config());
    auto p = Subprocess::spawn({kNginx, "-p", dir.string(), "-c", (dir / "nginx.conf").string(),
                                "-e", (dir / "error.log").string()},
                               false);
    if (!p) throw std::runtime_error(p.error().message);
    process_ = std::move(*p);
    const auto deadline = in(std::chrono::seconds(10));
    while (Clock::now() < deadline && http_get(port_, "/") != "ok\n") {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~Nginx() {
    process_.signal(SIGQUIT);
    process_.wait_until(in(std::chrono::seconds(5)));
  }
  uint16_t port() const { return port_; }
  uint16_t h2_port() const { return h2_port_; }
  std::string access_log() const { return read_file(dir_ / "access.log"); }
  // Requests nginx logged for path `/` (the readiness probes are excluded by the caller).
  uint64_t logged() const {
    std::istringstream log(read_file(dir_ / "access.log"));
    uint64_t n = 0;
    for (std::string line; std::getline(log, line);)
      n += line.find("\"GET /load") != std::string::npos;
    return n;
  }
  // The second access log: one line per request, "URI X-Agent-header".
  std::string uri_log() const { return read_file(dir_ / "uri.log"); }

 private:
  std::string fmt_config() const {
    const std::string d = dir_.string();
    const std::string format =
        log_format_.empty() ? "" : "  log_format lines '" + log_format_ + "';\n";
    return "worker_processes 1;\ndaemon off;\npid " + d + "/nginx.pid;\nerror_log " + d +
           "/error.log;\nevents { worker_connections 1024; }\nhttp {\n" + format + "  access_log " +
           d + "/access.log" + (log_format_.empty() ? "" : " lines") +
           ";\n  log_format uri '$request_uri $http_x_agent';\n  access_log " + d +
           "/uri.log uri;\n  client_body_temp_path " + d + ";\n  proxy_temp_path " + d +
           ";\n  fastcgi_temp_path " + d + ";\n  uwsgi_temp_path " + d + ";\n  scgi_temp_path " +
           d + ";\n  keepalive_requests 1000000;\n  server {\n    listen 127.0.0.1:" +
           std::to_string(port_) + ";\n    listen 127.0.0.1:" + std::to_string(h2_port_) +
           " http2;\n    location / { return 200 \"ok\\n\"; }\n    location /files/ { root " + d +
           "; }\n    location /missing/ { return 404 "
           "\"no\\n\"; }\n  }\n}\n";
  }
  std::filesystem::path dir_;
  uint16_t port_;
  uint16_t h2_port_;
  std::string log_format_;
  Subprocess process_;
};

}  // namespace horde::testing
