#pragma once
// Test support: a child process (erl, epmd) with its stdin and its stdout (stderr merged) on
// pipes, killed and reaped when the object goes, so that no test leaves a process behind.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace ambitious::test {

class ChildProcess {
 public:
  /// Starts `argv[0]` (looked up in PATH) with `argv`, and the environment of this process with
  /// `env` set on top.
  explicit ChildProcess(std::vector<std::string> argv,
                        std::vector<std::pair<std::string, std::string>> env = {}) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    // Everything exec needs is built before fork: only async-signal-safe calls after it.
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
      std::string_view kv(*e);
      bool replaced = false;
      for (auto& [k, v] : env) replaced = replaced || kv.starts_with(k + "=");
      if (!replaced) envs.emplace_back(kv);
    }
    for (auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(out[1], 2);
      setpgid(0, 0);  // its own group: a signal to it reaches what it starts (erl's children)
      execvpe(args[0], args.data(), envp.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0 && !status_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      int st;
      waitpid(pid_, &st, 0);
    }
    if (stdin_ >= 0) close(stdin_);
    if (stdout_ >= 0) close(stdout_);
  }

  pid_t pid() const noexcept { return pid_; }

  /// Writes `text` to the child's stdin.
  bool write(std::string_view text) {
    while (!text.empty()) {
      ssize_t n = ::write(stdin_, text.data(), text.size());
      if (n <= 0) return false;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Closes the child's stdin (erl's driver loop then halts).
  void close_stdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }

  /// The next line the child writes (without its newline), or nothing if none comes within
  /// `timeout` or the child closed its output.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = until - std::chrono::steady_clock::now();
      if (left <= left.zero() || eof_) return std::nullopt;
      pump(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    }
  }
  /// Everything the child wrote so far (for failure messages).
  const std::string& log() const noexcept { return log_; }

  /// Sends `sig` to the child.
  void signal(int sig) { ::kill(pid_, sig); }
  /// The child's exit status once it ends within `timeout`, or nothing.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        // What it wrote last may still be in the pipe: read it to the end of the stream (a
        // child of its own could keep the pipe open, hence the bound).
        while (!eof_ && std::chrono::steady_clock::now() < until)
          pump(std::chrono::milliseconds(10));
        break;
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      // Drain its output meanwhile (a child blocked on a full pipe would never end).
      if (eof_)
        usleep(1000);
      else
        pump(std::chrono::milliseconds(10));
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::string buffer_, log_;
  bool eof_ = false;
  std::optional<int> status_;

  // Reads what the child wrote within `timeout` into the buffer.
  void pump(std::chrono::milliseconds timeout) {
    pollfd p{stdout_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
    char chunk[4096];
    ssize_t n = ::read(stdout_, chunk, sizeof chunk);
    if (n <= 0) {
      eof_ = true;
      return;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    log_.append(chunk, static_cast<std::size_t>(n));
  }
};

}  // namespace ambitious::test
