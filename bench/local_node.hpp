#pragma once
// What the benchmarks that start nodes of their own on 127.0.0.1 share: a free port for the
// epmd the first node embeds, and a cookie nobody else knows.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <random>
#include <string>

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

}  // namespace ambitious::bench
