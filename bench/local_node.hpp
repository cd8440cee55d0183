#pragma once
// What the benchmarks that start nodes of their own on 127.0.0.1 share: a free port for the
// epmd the first node embeds, a cookie nobody else knows, and this program started again as a
// peer node, reaped when the run is over.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace ambitious::bench {

/// A TCP port free on 127.0.0.1 now (the kernel's pick); 0 when none could be had.
inline std::uint16_t free_loopback_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  bool ok = s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0 &&
            ::getsockname(s, reinterpret_cast<sockaddr*>(&at), &len) == 0;
  if (s >= 0) ::close(s);
  return ok ? ntohs(at.sin_port) : 0;
}

/// 20 random capital letters.
inline std::string random_cookie() {
  std::random_device rd;
  std::string c;
  for (int i = 0; i < 20; ++i) c.push_back(static_cast<char>('A' + rd() % 26));
  return c;
}

/// This program again (/proc/self/exe) with `args` (args[0] is its name), as a child; -1 when
/// fork fails.
inline pid_t start_self(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);  // the child must not print what this one buffered
  pid_t child = ::fork();
  if (child == 0) {
    ::execv("/proc/self/exe", argv.data());
    std::_Exit(127);
  }
  return child;
}

/// Waits up to 5 s for `child` to end on its own, then kills it; reaped either way.
inline void reap(pid_t child) {
  int status = 0;
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(child, &status, WNOHANG) == child) return;
    ::usleep(10'000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
}

}  // namespace ambitious::bench
