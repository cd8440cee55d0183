#include "ambitious/dist/cluster.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "ambitious/core/term.hpp"
#include "ambitious/dist/node_name.hpp"
#include "ambitious/dist/nodes.hpp"
#include "ambitious/process/errors.hpp"
#include "ambitious/process/monitor.hpp"
#include "ambitious/process/names.hpp"
#include "ambitious/process/process.hpp"
#include "ambitious/process/receive.hpp"
#include "ambitious/process/send.hpp"
#include "ambitious/process/spawn.hpp"
#include "ambitious/process/timer.hpp"

namespace ambitious::dist {

namespace {

const Atom members_name("ambitious_members");
const Atom hello_atom("hello");

// What the membership process gets from its own helpers and callers.
struct Retry {
  Atom node;
  std::uint64_t generation = 0;  // a retry planned before the member came up is stale
};
struct DialResult {
  Atom node;
  bool ok = false;
};
struct Subscribe {
  Pid who;
  bool on = true;
};
struct Leave {};

// The membership process's last state, for cluster_members() from any thread, and its pid
// (so that only it clears the state as it ends).
std::mutex snapshot_mutex;
Members snapshot;
Pid running;

std::expected<std::string, ClusterError> check_seed(std::string_view entry) {
  auto name = NodeName::parse(entry);
  if (!name)
    return std::unexpected(
        ClusterError{ClusterErrc::bad_seed,
                     "seed \"" + std::string(entry) + "\": " + std::string(name.error())});
  return name->full();
}

class Membership {
 public:
  Membership(Atom me, ClusterOptions options) : me_(me), options_(std::move(options)) {}

  bool leaving = false;

  void start() {
    for (const auto& s : options_.seeds) {
      Atom seed(s);
      if (seed == me_) continue;
      Member& m = members_[seed];
      m.seed = true;
    }
    // The peers up already (connected before the join) are greeted as if they came up now.
    for (Atom peer : nodes(NodeSet::connected)) on_up(peer);
    for (auto& [node, m] : members_)
      if (!m.up) dial(node);
    publish();
  }

  void on(const Term& t) {
    if (auto up = Codec<NodeUp>::from_term(t)) return on_up(up->node);
    if (auto down = Codec<NodeDown>::from_term(t)) return on_down(down->node);
    // {ambitious_members, hello, From, Known}: From runs membership; Known are its members.
    if (!t.is_tuple() || t.size() != 4 || t[0] != Term(members_name) || t[1] != Term(hello_atom) ||
        !t[2].is_atom() || !t[3].is_list())
      return;  // not ours: dropped, as a process drops what it does not know
    Atom from = t[2].as_atom();
    if (from == me_) return;
    const std::size_t before = members_.size();
    learn(from);
    // The first hello from `from` since it came up is answered: ours to it may have been
    // dropped (sent before its membership process ran, in the window between its node's start
    // and its join), and it counts us only once it hears one. Each side answers once, so it ends.
    Member& sender = members_[from];
    if (!std::exchange(sender.heard, true)) hello(from);
    for (Term rest = t[3]; rest.is_cons(); rest = rest.tail())
      if (rest.head().is_atom()) learn(rest.head().as_atom());
    publish();
    // New members: the members up hear of them too. Two nodes that came up at once beside a
    // third were told only of each other's absence; this tells them. It ends, as the sets only
    // grow by it.
    if (members_.size() == before) return;
    for (const auto& [node, m] : members_)
      if (m.up && node != from) hello(node);
  }

  void on(const Retry& r) {
    auto it = members_.find(r.node);
    if (it == members_.end() || it->second.up || it->second.generation != r.generation) return;
    Member& m = it->second;
    if (!m.seed && std::chrono::steady_clock::now() - m.down_since >= options_.forget_after) {
      members_.erase(it);  // gone for good, most likely
      publish();
      return;
    }
    dial(r.node);
  }

  void on(const DialResult& r) {
    auto it = members_.find(r.node);
    if (it == members_.end()) return;
    Member& m = it->second;
    m.dialing = false;
    // Connected: its nodeup comes (or came) from monitor_nodes. Not: try again later.
    if (!r.ok && !m.up) plan_retry(r.node, m);
  }

  void on(const Subscribe& s) {
    auto it = subscribers_.find(s.who);
    if (!s.on) {
      if (it == subscribers_.end()) return;
      demonitor(it->second, Flush::yes);
      subscribers_.erase(it);
      return;
    }
    if (it == subscribers_.end()) subscribers_.emplace(s.who, monitor(s.who));
    send(s.who, MembersChanged{members()});
  }

  void on(const Down& d) {
    auto it = subscribers_.find(d.pid);
    if (it != subscribers_.end() && it->second == d.ref) subscribers_.erase(it);
  }

 private:
  struct Member {
    bool seed = false;
    bool up = false;
    bool dialing = false;
    bool heard = false;  // its hello came since it came up
    std::chrono::milliseconds backoff{0};
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point down_since = std::chrono::steady_clock::now();
  };

  // Whether this node dials `node` (and redials it when down).
  bool dials(const Member& m) const { return m.seed || options_.connect_all; }

  void on_up(Atom node) {
    if (node == me_) return;
    // Tell every peer what we know: one that runs membership learns of the others (and counts
    // us as a member); an Erlang node drops it (no ambitious_members there).
    hello(node);
    auto it = members_.find(node);
    if (it == members_.end()) return;  // a member once it says hello
    Member& m = it->second;
    m.up = true;
    m.backoff = std::chrono::milliseconds(0);
    ++m.generation;  // a retry already planned is stale now
    publish();
  }

  void on_down(Atom node) {
    if (node == me_) {  // distribution stops (net_kernel_terminated): so does membership
      leaving = true;
      return;
    }
    auto it = members_.find(node);
    if (it == members_.end()) return;
    Member& m = it->second;
    m.up = false;
    m.heard = false;
    m.down_since = std::chrono::steady_clock::now();
    if (dials(m))
      plan_retry(node, m);
    else
      members_.erase(it);  // partial mode: a learned member is known while it is up only
    publish();
  }

  // {ambitious_members, hello, ThisNode, Known} to `node`'s membership process.
  void hello(Atom node) {
    send(RegisteredName{members_name, node},
         Term::tuple(members_name, hello_atom, me_, known_term()));
  }

  // A member named by a hello. With connect_all it is dialed.
  void learn(Atom node) {
    if (node == me_) return;
    Member& m = members_[node];
    const bool connected = is_connected(node);
    if (connected && !m.up) {
      m.up = true;
      ++m.generation;
    }
    if (!connected && dials(m) && !m.dialing) dial(node);
  }

  static bool is_connected(Atom node) {
    auto peers = nodes(NodeSet::connected);
    return std::find(peers.begin(), peers.end(), node) != peers.end();
  }

  // Dials in a process of its own (connect waits up to twice net_setuptime), which reports back.
  void dial(Atom node) {
    Member& m = members_[node];
    if (m.dialing || !dials(m)) return;
    m.dialing = true;
    Pid me = self();
    spawn([me, node]() -> Task<> {
      bool ok = co_await connect(node);
      send(me, DialResult{node, ok});
    });
  }

  void plan_retry(Atom node, Member& m) {
    m.backoff = m.backoff.count() == 0 ? options_.initial_backoff
                                       : std::min(m.backoff * 2, options_.max_backoff);
    send_after(m.backoff, self(), Retry{node, ++m.generation});
  }

  Term known_term() const {
    std::vector<Term> known;
    for (const auto& [node, m] : members_) known.emplace_back(node);
    return Term::list_from(std::span<Term>(known));
  }

  Members members() const {
    Members out;
    for (const auto& [node, m] : members_) {  // a std::map: sorted
      out.known.push_back(node);
      if (m.up) out.up.push_back(node);
    }
    return out;
  }

  void publish() {
    Members now = members();
    {
      std::lock_guard lock(snapshot_mutex);
      if (snapshot == now) return;
      snapshot = now;
    }
    for (const auto& [who, ref] : subscribers_) send(who, MembersChanged{now});
  }

  Atom me_;
  ClusterOptions options_;
  std::map<Atom, Member> members_;  // sorted by name: members() is sorted
  std::unordered_map<Pid, Ref> subscribers_;
};

// Clears the snapshot however the process ends.
struct SnapshotGuard {
  Pid me;
  ~SnapshotGuard() {
    std::lock_guard lock(snapshot_mutex);
    if (running != me) return;
    running = Pid();
    snapshot = Members{};
  }
};

Task<> membership_body(Atom me, ClusterOptions options) {
  SnapshotGuard guard{self()};
  // Hidden peers too: ambitious nodes connect to each other as hidden nodes.
  monitor_nodes(true, NodeMonitorOptions{.node_type = NodeMonitorOptions::Types::all});
  Membership m(me, std::move(options));
  m.start();
  while (!m.leaving) {
    co_await receive([&](Retry r) { m.on(r); }, [&](DialResult r) { m.on(r); },
                     [&](Subscribe s) { m.on(s); }, [&](Down d) { m.on(d); },
                     [&](Leave) { m.leaving = true; }, [&](Term t) { m.on(t); });
  }
}

}  // namespace

std::expected<std::vector<std::string>, ClusterError> parse_seeds(std::string_view text) {
  std::vector<std::string> seeds;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::replace(line.begin(), line.end(), ',', ' ');
    std::istringstream words(line);
    for (std::string word; words >> word;) {
      auto seed = check_seed(word);
      if (!seed) return std::unexpected(seed.error());
      if (std::find(seeds.begin(), seeds.end(), *seed) == seeds.end())
        seeds.push_back(std::move(*seed));
    }
  }
  return seeds;
}

std::expected<std::vector<std::string>, ClusterError> seeds_from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return std::unexpected(
        ClusterError{ClusterErrc::no_seed_file, "seed file " + path + ": cannot be read"});
  std::ostringstream text;
  text << in.rdbuf();
  auto seeds = parse_seeds(text.str());
  if (!seeds) seeds.error().detail = path + ": " + seeds.error().detail;
  return seeds;
}

std::expected<std::vector<std::string>, ClusterError> seeds_from_environment() {
  if (const char* list = std::getenv("AMBITIOUS_SEEDS"); list && *list) {
    auto seeds = parse_seeds(list);
    if (!seeds) seeds.error().detail = "AMBITIOUS_SEEDS: " + seeds.error().detail;
    return seeds;
  }
  if (const char* file = std::getenv("AMBITIOUS_SEEDS_FILE"); file && *file)
    return seeds_from_file(file);
  return std::vector<std::string>{};
}

std::expected<Pid, ClusterError> join_cluster(ClusterOptions options) {
  ambitious::detail::check_in_process("dist::join_cluster");
  const Atom me = node();
  if (me == Atom("nonode@nohost"))
    return std::unexpected(ClusterError{ClusterErrc::not_alive, "this node is not distributed"});
  if (options.seeds.empty()) {
    auto seeds = seeds_from_environment();
    if (!seeds) return std::unexpected(seeds.error());
    options.seeds = std::move(*seeds);
  }
  for (auto& s : options.seeds) {
    auto seed = check_seed(s);
    if (!seed) return std::unexpected(seed.error());
    s = std::move(*seed);
  }
  std::lock_guard lock(snapshot_mutex);
  // The name decides: a process that was spawned but never ran (its runtime ended first) left
  // `running` set, and is gone.
  if (whereis(members_name))
    return std::unexpected(
        ClusterError{ClusterErrc::already_joined, "ambitious_members runs already"});
  Pid pid = spawn([me, o = std::move(options)]() mutable { return membership_body(me, o); });
  register_name(members_name, pid);
  running = pid;
  snapshot = Members{};
  return pid;
}

bool leave_cluster() {
  ambitious::detail::check_in_process("dist::leave_cluster");
  auto pid = whereis(members_name);
  if (!pid) return false;
  send(*pid, Leave{});
  return true;
}

Members cluster_members() {
  std::lock_guard lock(snapshot_mutex);
  return snapshot;
}

bool monitor_members(bool on) {
  ambitious::detail::check_in_process("dist::monitor_members");
  auto pid = whereis(members_name);
  if (!pid) return false;
  send(*pid, Subscribe{self(), on});
  return true;
}

}  // namespace ambitious::dist
