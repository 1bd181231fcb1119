#include "agent/capture.h"

namespace horde {

const char* capture_status_name(CaptureStatus s) {
  switch (s) {
    case CaptureStatus::kOk:
      return "ok";
    case CaptureStatus::kNotJson:
      return "not_json";
    case CaptureStatus::kTooDeep:
      return "too_deep";
    case CaptureStatus::kNoSuchValue:
      return "no_such_value";
    case CaptureStatus::kTooLong:
      return "too_long";
  }
  return "unknown";
}

}  // namespace horde
