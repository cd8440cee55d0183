#pragma once
// Private: Connection, one distribution connection over a Carrier. It runs the handshake state
// machine (either role) under net_setuptime, then the 4-byte framed stream: reads into its
// FrameReader's buffer and decodes packets in place, hands each control message to its owner
// in the order read; writes queued frames in batches (one gather write for many); sends a
// large message as fragments when FRAGMENTS was negotiated, one fragment per turn of its
// sender, so other senders' traffic interleaves; ticks as dist_util does and answers the
// peer's ticks; drops a peer silent for a whole net_ticktime. Everything runs on one executor
// (the node's I/O thread): every member is owner only, called on that executor, except
// offer() and flush(), which any thread may call (a sending process's worker writes a small
// message itself, with no wake-up of the I/O thread, when nothing waits before it): the write
// side (the queue, the writer's state, close) is under a mutex, which also orders those
// threads' writes with the writer's and with close.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ambitious/dist/control.hpp"
#include "ambitious/dist/frame_reader.hpp"
#include "ambitious/dist/handshake.hpp"
#include "ambitious/dist/packet.hpp"
#include "carrier.hpp"

namespace ambitious::dist::detail {

/// How a connection times and bounds itself.
struct ConnectionOptions {
  /// OTP's net_ticktime: a tick after ticktime/4 without a write; the peer is dropped after
  /// ticktime without a read.
  std::chrono::milliseconds net_ticktime = std::chrono::seconds(60);
  /// OTP's net_setuptime: the longest a handshake may take.
  std::chrono::milliseconds net_setuptime = std::chrono::seconds(7);
  /// What the peer may send.
  PacketLimits limits{};
  /// Packets larger than this go as fragments of this size (when FRAGMENTS was negotiated).
  std::size_t fragment_size = 64 * 1024;
  /// The most bytes one write gathers.
  std::size_t max_batch = 256 * 1024;
  /// From this many bytes queued and not yet written the connection is busy (OTP's busy
  /// distribution port, dist_buf_busy_limit): its node suspends senders until it drains.
  std::size_t busy_limit = 4 * 1024 * 1024;
};

class Connection;

/// The stream, of a carrier's `streams`, that every message of `sender` travels on.
std::uint32_t sender_stream(const Pid& sender, std::size_t streams);

/// What a connection asks of its node and tells it; called on the connection's executor.
class ConnectionOwner {
 public:
  /// Acceptor: may `peer` connect (mark_pending of dist_util)?
  virtual Admission admit(Connection& c, const handshake_action::Admit& peer) = 0;
  /// Initiator: the peer says we are connected already; true when we are not (so that old
  /// connection is dead and the peer may replace it).
  virtual bool confirm_alive(Connection& c) = 0;
  /// Acceptor: the peer confirmed our old connection to it is dead: drop that one.
  virtual void replace_old(Connection& c) = 0;
  /// The handshake is done: `c` carries traffic now.
  virtual void established(Connection& c) = 0;
  /// A control message from the peer, in the order read.
  virtual void received(Connection& c, ControlMessage&& m) = 0;
  /// The connection ended (its handshake failed, or it was lost or closed), once.
  virtual void closed(Connection& c, const std::string& why) = 0;
  /// queued_bytes() changed by `delta`, of which `small` in whole packets (not fragments):
  /// frames queued (> 0), or written to the carrier or dropped when the connection closed (< 0;
  /// then queued_bytes() is 0, before closed()).
  virtual void queue_changed(Connection&, std::int64_t /*delta*/, std::int64_t /*small*/) {}
  /// Runs `handle`, which hands on (received()) the messages of one read, at once: the node
  /// wraps it in one reader section of its runtime instead of one per message.
  virtual void handle_read(const std::function<void()>& handle) { handle(); }

 protected:
  ~ConnectionOwner() = default;
};

/// One connection. Made by make_shared; start() runs it until it closes.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  /// `challenge`: this side's random number for the handshake.
  Connection(asio::any_io_executor ex, std::unique_ptr<Carrier> carrier, Handshake::Role role,
             HandshakeSettings settings, std::uint32_t challenge, ConnectionOptions options,
             ConnectionOwner& owner);

  /// Starts the handshake, then the traffic.
  void start();
  /// Queues `m` for the peer behind what `sender` (default: the process `m` names as its
  /// sender; a MONITOR_P_EXIT by name names none) queued before; false once the connection is
  /// closed. Only once established.
  bool send(const ControlMessage& m, std::optional<Pid> sender = std::nullopt);
  /// What offer() did with a message.
  enum class Offer {
    written,  // written to the carrier, whole
    queued,   // queued for the writer (what the carrier did not take, or behind what waits)
    flush,    // queued, and the caller calls flush() soon: nothing else writes it meanwhile
    refused,  // left to the caller: send() it on the executor (nothing was done)
  };
  /// Any thread: a small `m` from the calling thread, without the executor. When nothing is
  /// queued or being written it is written at once (one non-blocking write; the writer takes
  /// what the carrier did not), or with `later` queued for the caller's flush(), so that what
  /// the caller offers until then goes in the same write; else it is queued behind what waits,
  /// without waking the writer (which writes, or is woken already, or a flush() is due).
  /// Refused when the connection is closed or not established, when `m` needs fragments, or
  /// when its sender has frames in a lane. The caller keeps its sender's order: it offers only
  /// when nothing of that sender is on its way to send() meanwhile.
  Offer offer(const ControlMessage& m, bool later = false);
  /// Any thread: writes what offer() queued for it (Offer::flush), at once where it can (the
  /// writer takes the rest).
  void flush();
  /// Closes the connection; the owner hears closed(why) once the reader has stopped.
  void close(std::string why);

  /// Initiator or acceptor.
  Handshake::Role role() const noexcept { return handshake_.role(); }
  /// The peer's full node name (known after send_name for the acceptor).
  const std::string& peer() const noexcept { return handshake_.peer(); }
  /// True once the handshake succeeded, until the connection closes.
  bool established() const noexcept { return established_ && !closed_; }
  /// The handshake failed because the peer said nok: it settled a simultaneous connect for its
  /// own connection to us.
  bool peer_connecting() const noexcept { return peer_connecting_; }
  /// The flags both sides share (after the handshake).
  Flags flags() const noexcept { return flags_; }
  /// The peer's creation (after the handshake).
  std::uint32_t peer_creation() const noexcept { return peer_creation_; }
  /// Bytes of frames queued and not yet written (what a slow reader makes us hold).
  std::size_t queued_bytes() const noexcept {
    std::lock_guard lock(write_mutex_);
    return queued_bytes_;
  }
  /// True while queued_bytes() is at least options.busy_limit: senders should wait for sent().
  bool busy() const noexcept { return queued_bytes() >= options_.busy_limit; }
  /// What it travels on: "tcp", "tls" or "quic".
  const char* carrier_kind() const noexcept { return carrier_->kind(); }
  /// The limits and sizes it was made with.
  const ConnectionOptions& options() const noexcept { return options_; }
  /// The owner's own data about this connection (the node keeps its peer's flow here).
  void* owner_data = nullptr;
  /// Ticks written so far (those answering the peer's included), for tests.
  std::uint64_t ticks_sent() const noexcept { return ticks_sent_; }
  /// Ticks read so far, for tests.
  std::uint64_t ticks_received() const noexcept { return ticks_received_; }

 private:
  using Clock = std::chrono::steady_clock;
  // A frame to write: its own bytes, then (a fragment) a slice of a payload encoded in pieces,
  // which the message's fragments share, so that no large binary is copied.
  struct Frame {
    std::vector<std::uint8_t> bytes;
    std::shared_ptr<const etf::Segments> payload;
    std::size_t from = 0, length = 0;
    bool fragment = false;
    std::size_t size() const noexcept { return bytes.size() + length; }
  };
  // The frames of one sender waiting to be written: a sender's frames leave in order, and the
  // writer takes one frame per sender per turn.
  struct Lane {
    std::uint64_t key;
    std::uint32_t stream;  // of the carrier's streams: every frame of the sender goes there
    std::deque<Frame> frames;
  };

  asio::awaitable<void> run();
  asio::awaitable<std::string> handshake();  // "" when established, else why it failed
  asio::awaitable<std::string> read_loop();
  std::string handle_frames();  // "" when it needs more bytes, else why to close
  asio::awaitable<void> write_loop();
  asio::awaitable<void> tick_loop();
  asio::awaitable<std::string> write_now(const std::vector<std::uint8_t>& bytes);
  void queue(std::uint64_t key, Frame frame);          // under write_mutex_; wakes no one
  void queue_direct(std::span<const std::uint8_t> b);  // under write_mutex_
  void flush_locked();                                 // under write_mutex_
  void wake_writer_later();                            // any thread
  void set_last_write() noexcept;
  void queue_tick();
  void on_tick();
  std::string refused_peer(std::string why) const;
  std::string refused(const char* what, const WireError& e) const;

  asio::any_io_executor ex_;
  std::unique_ptr<Carrier> carrier_;
  Handshake handshake_;
  ConnectionOptions options_;
  ConnectionOwner& owner_;
  // The carrier's streams: 1, or a pool (QUIC), where every message goes through a lane on
  // its sender's stream (no direct_), and a stream without room waits while the others go on.
  const std::size_t streams_;
  FrameReader reader_;
  PacketDecoder decoder_;
  asio::steady_timer setup_timer_, tick_timer_, wake_;
  bool established_ = false, finished_ = false, tick_due_ = false, peer_connecting_ = false;
  bool waiting_room_ = false;  // the writer waits for a stream's room (several streams)
  // The write side: the queue (direct_, spare_, writing_, lanes_, lane_of_, next_sequence_,
  // the byte counts), closed_ and writing_now_ change under write_mutex_ (closed_ only on the
  // executor, which may read it without the lock), and offer()'s write and the carrier's
  // close() happen under it, so that offer() never writes into a closed descriptor or between
  // the bytes of the writer's write.
  mutable std::mutex write_mutex_;
  bool closed_ = false;
  bool writing_now_ = false;    // the writer's write is outstanding
  bool flush_pending_ = false;  // offer() queued into an idle queue: a flush() is due
  bool wake_posted_ = false;    // offer() posted the writer's wake-up since it last looked
  std::thread::id flusher_;     // the thread whose flush() is due
  std::string close_reason_;
  Flags flags_ = 0;
  std::uint32_t peer_creation_ = 0;
  // Whole packets of senders with no lane (nothing of theirs waits in one), in the order sent,
  // in chunks of about direct_chunk bytes (many small messages each, reused): written before
  // the lanes' frames of the same batch.
  static constexpr std::size_t direct_chunk = 64 * 1024;
  std::deque<std::vector<std::uint8_t>> direct_;
  std::vector<std::vector<std::uint8_t>> writing_, spare_;
  std::list<Lane> lanes_;
  std::unordered_map<std::uint64_t, std::list<Lane>::iterator> lane_of_;
  std::uint64_t next_sequence_ = 1;
  std::size_t queued_bytes_ = 0, queued_small_ = 0;  // all, and those of whole packets
  std::size_t dropped_ = 0, dropped_small_ = 0;      // by close(), not yet told to the owner
  Clock::time_point last_read_;
  // Written by offer() too (any thread): the time of the last write, and the count of writes.
  std::atomic<Clock::rep> last_write_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::uint64_t ticks_sent_ = 0, ticks_received_ = 0;
};

}  // namespace ambitious::dist::detail
