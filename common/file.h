// Result files are written whole or not at all: the text goes to a temporary
// name in the same directory, is flushed to disk, and is renamed over the final
// name. A full disk or a crash mid-write leaves the previous file (or none),
// never a truncated summary.json that `horde report` cannot read.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace horde {

Result<bool> write_file_atomic(const std::string& path, std::string_view text);

}  // namespace horde
