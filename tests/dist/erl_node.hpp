#pragma once
// Test support: a real Erlang node (erlang-base) driven from a test, and helpers to give each
// test run its own epmd port. The node evaluates Erlang expressions sent one per line on its
// stdin and prints each result as "=> ~w" (or "=> !Class:Reason"), so a test reads back exactly
// what it asked for; other lines (logger reports) stay in its log for failure messages.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../patience.hpp"
#include "child_process.hpp"

namespace ambitious::test {

/// True when `erl` is installed (the tests against Erlang skip otherwise).
inline bool have_erl() { return std::system("command -v erl >/dev/null 2>&1") == 0; }

/// A TCP port free on 127.0.0.1 at the moment of the call (for an epmd or a listener the test
/// then starts on it), taken below the kernel's ephemeral range: a port the kernel hands out
/// meanwhile (another test's listener on port 0, any outgoing connection's local port) is never
/// this one, so it is still free when the test binds it. (From the ephemeral range, a test's
/// embedded epmd once found its port taken by another test's node, which never answered.)
inline std::uint16_t free_port() {
  static std::mt19937 random{std::random_device{}()};
  unsigned ephemeral_low = 32768;
  if (std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%u", &ephemeral_low) != 1) ephemeral_low = 32768;
    std::fclose(f);
  }
  const unsigned low = 10000, high = std::max(ephemeral_low, low + 1000) - 1;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(
        std::uniform_int_distribution<unsigned>(low, std::min(high, 65535u))(random));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  throw std::runtime_error("free_port: no port");
}

/// Waits until `done()` holds, checking every millisecond, at most `patience`: for a state
/// another process reaches (epmd dropping a registration) that sends no message to wait for.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds within = patience) {
  auto until = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// How to start an Erlang node.
struct ErlOptions {
  std::string name;                         ///< the node name (-name, or -sname with short_name)
  bool short_name = false;                  ///< -sname instead of -name
  std::string cookie = "ambitious_cookie";  ///< -setcookie
  std::uint16_t epmd_port = 0;              ///< ERL_EPMD_PORT (an epmd the test started)
  int ticktime = 0;                         ///< net_ticktime in seconds (0: OTP's default)
  std::vector<std::string> args;            ///< more arguments for erl
};

/// A running `erl -noshell -name ...` that never starts an epmd of its own (-start_epmd false:
/// the test provides one on its private port). Killed when the object goes.
class ErlNode {
 public:
  explicit ErlNode(const ErlOptions& o) : child_(argv(o), {{"ERL_EPMD_PORT", port(o)}}) {
    // A BEAM's start (kernel, distribution, epmd registration) took over 20 s once on a
    // machine loaded by a sanitizer build beside the tests: the bound of the start is wider.
    ready_ = read_result(3 * patience).value_or("") == "ready";
  }

  /// True once the node printed that it is up (distribution started, registered with epmd).
  bool ready() const noexcept { return ready_; }

  /// Evaluates `expr` (one line of Erlang, ending with a dot) and returns the result as "~w"
  /// prints it, "!Class:Reason" for an exception, or "<no answer>" if none comes in time.
  std::string eval(const std::string& expr, std::chrono::milliseconds within = patience) {
    child_.write(expr + "\n");
    return read_result(within).value_or("<no answer>");
  }

  /// Everything the node printed (for failure messages).
  const std::string& log() const noexcept { return child_.log(); }
  ChildProcess& process() noexcept { return child_; }

 private:
  static std::string port(const ErlOptions& o) { return std::to_string(o.epmd_port); }
  static std::vector<std::string> argv(const ErlOptions& o) {
    // The driver: read a line, evaluate it with the bindings so far, print the result.
    static const char* driver =
        "Loop = fun L(B) ->"
        "  case io:get_line('') of"
        "    eof -> erlang:halt(0);"
        "    {error, _} -> erlang:halt(0);"
        "    Line ->"
        "      {Out, B2} = try"
        "          {ok, Ts, _} = erl_scan:string(Line),"
        "          {ok, Es} = erl_parse:parse_exprs(Ts),"
        "          {value, V, NB} = erl_eval:exprs(Es, B),"
        "          {io_lib:format(\"~w\", [V]), NB}"
        "        catch C:E -> {io_lib:format(\"!~w:~w\", [C, E]), B}"
        "        end,"
        "      io:format(\"=> ~s~n\", [Out]),"
        "      L(B2)"
        "  end"
        " end,"
        " io:format(\"=> ready~n\"),"
        " Loop(erl_eval:new_bindings()).";
    std::vector<std::string> a{"erl",         "-noshell",   o.short_name ? "-sname" : "-name",
                               o.name,        "-setcookie", o.cookie,
                               "-start_epmd", "false"};
    if (o.ticktime > 0) {
      a.insert(a.end(), {"-kernel", "net_ticktime", std::to_string(o.ticktime)});
    }
    a.insert(a.end(), o.args.begin(), o.args.end());
    a.insert(a.end(), {"-eval", driver});
    return a;
  }
  std::optional<std::string> read_result(std::chrono::milliseconds within) {
    auto until = std::chrono::steady_clock::now() + within;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = child_.read_line(left);
      if (!line) return std::nullopt;
      if (line->starts_with("=> ")) return line->substr(3);
    }
  }

  ChildProcess child_;
  bool ready_ = false;
};

}  // namespace ambitious::test
