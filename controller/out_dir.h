// The results directory (--out), checked before any agent starts: it must be a
// directory this process can write, and it must not hold an earlier run's
// results (summary.json would be replaced while intervals.jsonl and
// latency.hlog grew by a second run, and `horde report` would then merge two
// runs). `--overwrite` removes the earlier run's result files instead.
#pragma once

#include <string>

#include "common/result.h"

namespace horde {

// Creates `dir` if needed. Errors name the flag: a path component that is a
// regular file, a directory that cannot be written, a non-empty directory
// (unless overwrite: then horde's result files in it are removed first).
Result<bool> prepare_out_dir(const std::string& dir, bool overwrite);

// For the default results/<run-id>: the parent `results` must be a writable
// directory (created if needed); it holds earlier runs, each in its own folder.
Result<bool> prepare_results_parent(const std::string& parent);

}  // namespace horde
