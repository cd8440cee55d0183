#pragma once
// Private: what the dist layer's Asio code shares: the names, and a deadline that closes a
// socket when it expires (the only timeout Asio's blocking-free reads need).

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <cerrno>
#include <chrono>
#include <memory>
#include <system_error>

namespace ambitious::dist::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// Marks a descriptor close-on-exec. Asio opens, accepts and connects sockets without the flag,
/// so every program this process starts (fork and exec: an erl node, a port program) would
/// inherit them and hold them open after this process closed its own: an inherited listening
/// socket goes on taking connections that nobody answers (a node that starts again on its
/// embedded epmd's port finds that mute socket there: "epmd did not answer in time"), an
/// inherited connection stays open. Set once the socket exists, which leaves a window for a fork
/// on another thread; listeners, which are what outlives, are opened with the flag instead.
inline void close_on_exec(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

/// Opens `s` (an acceptor or a socket) for `protocol`, its descriptor close-on-exec from the
/// start (see close_on_exec).
template <class Openable, class Protocol>
void open_close_on_exec(Openable& s, const Protocol& protocol, boost::system::error_code& ec) {
  const int fd = ::socket(protocol.family(), protocol.type() | SOCK_CLOEXEC, protocol.protocol());
  if (fd < 0) {
    ec.assign(errno, boost::system::system_category());
    return;
  }
  s.assign(protocol, fd, ec);
  if (ec) ::close(fd);
}

/// A deadline on the operations of one socket (and of a name resolution before it): when it
/// expires first, it closes the socket and cancels the resolver, so that whatever was pending
/// completes with an error; expired() then says why. Cancel it (or destroy it) when the
/// operations are done. Lives on the socket's executor, like the socket: owner only.
class Deadline {
 public:
  Deadline(tcp::socket& socket, std::chrono::steady_clock::duration after,
           tcp::resolver* resolver = nullptr)
      : state_(std::make_shared<State>(&socket, resolver)), timer_(socket.get_executor()) {
    timer_.expires_after(after);
    // The handler holds the state, not `this`: it may run after the Deadline is gone (a wait
    // that completed just before the cancel), and then finds the state disarmed.
    timer_.async_wait([state = state_](const boost::system::error_code& ec) {
      if (ec || !state->socket) return;
      state->expired = true;
      boost::system::error_code ignored;
      state->socket->close(ignored);
      if (state->resolver) state->resolver->cancel();
    });
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline() { cancel(); }

  /// The operations finished: the deadline no longer closes the socket.
  void cancel() noexcept {
    state_->socket = nullptr;
    state_->resolver = nullptr;
    timer_.cancel();
  }
  /// True when the deadline closed the socket.
  bool expired() const noexcept { return state_->expired; }

 private:
  struct State {
    State(tcp::socket* s, tcp::resolver* r) : socket(s), resolver(r) {}
    tcp::socket* socket;
    tcp::resolver* resolver;
    bool expired = false;
  };
  std::shared_ptr<State> state_;
  asio::steady_timer timer_;
};

}  // namespace ambitious::dist::detail
