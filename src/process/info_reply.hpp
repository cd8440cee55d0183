#pragma once
// InfoReply: the answer to a process_info request.

#include <optional>

#include "ambitious/core/ref.hpp"
#include "ambitious/process/process_info.hpp"

namespace ambitious::detail {

struct InfoReply {
  Ref ref;
  std::optional<ProcessInfo> info;  // empty: the process was dead
};

}  // namespace ambitious::detail
