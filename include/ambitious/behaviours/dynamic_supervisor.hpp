#pragma once
// DynamicSupervisor: a supervisor of children started on demand (Elixir's DynamicSupervisor).
//
//   option            | meaning                                                 | default
//   ------------------|---------------------------------------------------------|----------
//   max_restarts,     | more restarts than this within max_seconds: stop every  | 3, 5 s
//   max_seconds       | child and exit `shutdown`                               |
//   max_children      | start_child beyond it fails with `max_children`         | unlimited
//   extra_arguments   | passed to every child's start (ChildStart's span)       | none
//
// start_child runs the child's start inside the supervisor, which links to the child and
// restarts it by its restart type (one_for_one). On shutdown every child is asked to stop at
// once, each with its own shutdown time.

#include <cstddef>
#include <expected>
#include <limits>
#include <optional>
#include <vector>

#include "ambitious/behaviours/child_spec.hpp"
#include "ambitious/behaviours/gen_server.hpp"
#include "ambitious/behaviours/supervisor.hpp"
#include "ambitious/core/chrono.hpp"

namespace ambitious {

/// How a dynamic supervisor restarts and how many children it takes (the table above).
struct DynamicSupervisorOptions {
  int max_restarts = 3;  ///< restarts allowed within max_seconds
  std::chrono::milliseconds max_seconds = std::chrono::seconds(5);     ///< the restarts' window
  std::size_t max_children = std::numeric_limits<std::size_t>::max();  ///< most running at once
  std::vector<Term> extra_arguments;  ///< given to every child's start
};

namespace detail {
class DynamicSupervisorServer;
}

namespace dynamic_supervisor {

/// Names a dynamic supervisor: by pid, local name or via name.
using Ref = ServerRef<detail::DynamicSupervisorServer>;

/// Starts a dynamic supervisor linked to the caller (it has no children yet).
Task<StartResult<detail::DynamicSupervisorServer>> start_link(DynamicSupervisorOptions options = {},
                                                              StartOptions start = {});
/// A child spec that starts a dynamic supervisor with start_link(options, start): a dynamic
/// supervisor as a supervisor's child, with no start function to write. Its type is
/// ChildType::supervisor; a restart starts it without children, as OTP's.
ChildSpec child_spec(Term id, DynamicSupervisorOptions options = {}, StartOptions start = {});
/// Starts a child under `sup`: its pid; nothing for atoms::ignore; or the error:
/// `{invalid_child_spec, Id}` (the spec has no start; found before any call), `max_children`, or
/// the start's. The child's id is not used otherwise: children are known by pid.
Task<std::expected<std::optional<Pid>, ExitReason>> start_child(Ref sup, ChildSpec spec);
/// Stops the child `pid` (not restarted). Error: atoms::not_found.
Task<std::expected<void, ExitReason>> terminate_child(Ref sup, Pid pid);
/// The running children (ids are `undefined`, as in Elixir).
Task<std::vector<ChildInfo>> which_children(Ref sup);
/// The numbers of children, of those running (not being restarted), and of children by type.
Task<ChildCounts> count_children(Ref sup);

}  // namespace dynamic_supervisor
}  // namespace ambitious
