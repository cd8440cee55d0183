#pragma once
// Messages sent to an alias: accepted only while the alias is active (OTP 24's aliases).

#include "ambitious/core/pid.hpp"
#include "ambitious/core/ref.hpp"
#include "ambitious/process/detail/message.hpp"

namespace ambitious::detail {

/// Sends `m` to `to`, to be queued only if `alias` is still one of `to`'s active monitors when
/// it arrives; otherwise it is dropped. A call's reply goes this way, so that a reply arriving
/// after the caller gave up (timeout) never lands in its mailbox. Inside a process only.
void send_to_alias(Pid to, const Ref& alias, Message* m);

}  // namespace ambitious::detail
