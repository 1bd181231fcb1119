// Renders a self-contained page (report.html, compare.html) in headless
// Chromium with every network path closed, and says what the page itself asked
// the network for. Chromium on its own reaches out to Google's update, time and
// account services even with --disable-background-networking (seen in its net
// log); here no name resolves and every connection goes to a proxy at
// 127.0.0.1:9 where nothing listens, so no test sends traffic off the machine.
// The page's own requests are the net log's URL requests with an origin as
// initiator (a file:// page's is "null"); Chromium's have "not an origin".
#ifndef HORDE_TESTS_CONTROLLER_CHROMIUM_H
#define HORDE_TESTS_CONTROLLER_CHROMIUM_H

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace horde::testing {

inline constexpr const char* kChromium = "/usr/bin/chromium";

struct Rendered {
  bool ok = false;  // Chromium exited 0 and wrote the screenshot
  std::string why;  // when not ok: where to look
  std::vector<std::string>
      page_requests;  // URLs the page asked for (none, for a self-contained page)
};

inline Rendered render_in_chromium(const std::string& page, const std::string& png, int width,
                                   int height) {
  namespace fs = std::filesystem;
  const std::string dir = fs::path(png).parent_path().string();
  const std::string netlog = dir + "/chromium-netlog.json";
  const std::string log = dir + "/chromium.log";
  const std::string cmd =
      std::string("timeout 120 ") + kChromium +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update --disable-sync"
      " '--host-resolver-rules=MAP * ~NOTFOUND' --proxy-server=127.0.0.1:9"
      " --user-data-dir=" +
      dir + "/chromium-profile --log-net-log=" + netlog + " --screenshot=" + png +
      " --window-size=" + std::to_string(width) + "," + std::to_string(height) + " file://" + page +
      " > " + log + " 2>&1";
  Rendered r;
  if (std::system(cmd.c_str()) != 0 || !fs::exists(png)) {
    r.why = "Chromium failed: see " + log;
    return r;
  }
  const auto events = nlohmann::json::parse(std::ifstream(netlog), nullptr, false);
  if (events.is_discarded() || !events.contains("constants")) {
    r.why = "Chromium's net log is unreadable: " + netlog;
    return r;
  }
  const int start_job = events["constants"]["logEventTypes"].value("URL_REQUEST_START_JOB", -1);
  for (const auto& e : events["events"]) {
    if (e.value("type", -2) != start_job || !e.contains("params")) continue;
    const auto& p = e["params"];
    if (p.value("initiator", "not an origin") == "not an origin") continue;  // Chromium's own
    r.page_requests.push_back(p.value("url", "?"));
  }
  r.ok = true;
  return r;
}

}  // namespace horde::testing

#endif  // HORDE_TESTS_CONTROLLER_CHROMIUM_H
