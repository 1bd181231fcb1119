// Scaling the target between steps of an instances sweep: run the user's
// scale command (e.g. `kubectl scale deploy/web --replicas={instances}`), log
// what it prints, then wait until the ready check holds (an HTTP URL that
// answers 2xx, or a command that exits 0) or its timeout passes. Both give up
// at once when the run is stopped.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "common/sweep.h"

namespace horde {

// Runs `/bin/sh -c command` ({instances} replaced by k); error on a non-zero
// exit or when it runs longer than `timeout`. When `cancel` turns true (the
// run was stopped) the command is killed and this returns an error within
// about 100 ms.
Result<bool> run_scale_command(const std::string& command, uint32_t instances,
                               std::chrono::milliseconds timeout,
                               const std::atomic<bool>* cancel = nullptr);

// Polls the ready check every 500 ms until it holds; error at its timeout,
// or soon after `cancel` turns true.
Result<bool> wait_ready(const ReadyCheck& check, uint32_t instances,
                        const std::atomic<bool>* cancel = nullptr);

// One blocking HTTP GET (http:// only); the status code, or an error.
Result<int> http_status(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace horde
