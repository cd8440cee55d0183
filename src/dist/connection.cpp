#include "connection.hpp"

#include <type_traits>
#include <utility>

#include "ambitious/behaviours/logger.hpp"

namespace ambitious::dist::detail {

namespace {

using asio::awaitable;
using asio::use_awaitable;

// A tick answers the peer's only when nothing was written this recently: the peer then read
// something from us lately anyway, and two nodes that both answer ticks stop after one answer
// instead of bouncing ticks back and forth.
constexpr std::chrono::milliseconds tick_answer_gap{100};

// The writer's lane of a message: the process it comes from, so that one process's signals
// keep their order while other processes' interleave with its fragments. Messages with no
// sending pid (SEND) share lane 0; the node names the sender of a by-name MONITOR_P_EXIT.
std::uint64_t sender_key(const Pid& p) {
  return (std::uint64_t{p.id} << 32 | p.serial) ^ (std::uint64_t{p.node_index} << 48);
}

std::uint64_t lane_key(const ControlMessage& m) {
  return std::visit(
      [&](const auto& x) -> std::uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, control::Send>) {
          return x.from ? sender_key(*x.from) : 0;
        } else if constexpr (std::is_same_v<T, control::MonitorPExit>) {
          const Pid* p = std::get_if<Pid>(&x.from);
          return p ? sender_key(*p) : 0;
        } else if constexpr (std::is_same_v<T, control::NodeLink> ||
                             std::is_same_v<T, control::SpawnReply>) {
          return 0;
        } else if constexpr (std::is_same_v<T, control::SpawnRequest>) {
          return sender_key(x.from);
        } else {
          return sender_key(x.from);
        }
      },
      m);
}

// The stream of a sender's lane, of `streams`: its key mixed (splitmix64's finalizer), so that
// pids that differ in a few bits spread over the pool.
std::uint32_t stream_of(std::uint64_t key, std::size_t streams) {
  if (streams <= 1) return 0;
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebULL;
  key ^= key >> 31;
  return static_cast<std::uint32_t>(key % streams);
}

// Appends the buffers of bytes [from, from + length) of `pieces` to `out`.
void slice(std::span<const ::iovec> pieces, std::size_t from, std::size_t length,
           std::vector<asio::const_buffer>& out) {
  for (const ::iovec& v : pieces) {
    if (length == 0) return;
    if (from >= v.iov_len) {
      from -= v.iov_len;
      continue;
    }
    const std::size_t n = std::min(v.iov_len - from, length);
    out.emplace_back(static_cast<const std::uint8_t*>(v.iov_base) + from, n);
    from = 0;
    length -= n;
  }
}

}  // namespace

std::uint32_t sender_stream(const Pid& sender, std::size_t streams) {
  return stream_of(sender_key(sender), streams);
}

Connection::Connection(asio::any_io_executor ex, std::unique_ptr<Carrier> carrier,
                       Handshake::Role role, HandshakeSettings settings, std::uint32_t challenge,
                       ConnectionOptions options, ConnectionOwner& owner)
    : ex_(ex),
      carrier_(std::move(carrier)),
      handshake_(role, std::move(settings), challenge),
      options_(std::move(options)),
      owner_(owner),
      streams_(std::max<std::size_t>(carrier_->streams(), 1)),
      reader_(2, handshake::max_frame_body),
      decoder_(options_.limits),
      setup_timer_(ex),
      tick_timer_(ex),
      wake_(ex, Clock::time_point::max()) {
  // Continuation fragments are read straight to the end of their message's reassembly.
  reader_.set_placer([this](std::span<const std::uint8_t> head,
                            std::size_t length) { return decoder_.place(head, length); },
                     PacketDecoder::fragment_head);
}

void Connection::start() {
  asio::co_spawn(
      ex_, [self = shared_from_this()]() -> awaitable<void> { co_await self->run(); },
      asio::detached);
}

void Connection::close(std::string why) {
  std::lock_guard lock(write_mutex_);
  if (closed_) return;
  closed_ = true;
  flush_pending_ = false;
  close_reason_ = std::move(why);
  carrier_->close();
  // What was not written is dropped (as OTP drops it with the connection).
  lanes_.clear();
  lane_of_.clear();
  direct_.clear();
  dropped_ += std::exchange(queued_bytes_, 0);
  dropped_small_ += std::exchange(queued_small_, 0);
  setup_timer_.cancel();
  tick_timer_.cancel();
  wake_.cancel();
}

awaitable<void> Connection::run() {
  // net_setuptime bounds the handshake: when it expires first, the carrier closes and the
  // pending read fails.
  setup_timer_.expires_after(options_.net_setuptime);
  setup_timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
    auto self = w.lock();
    if (ec || !self || self->established_) return;
    self->close("net_setuptime expired during the handshake");
  });
  std::string why = co_await handshake();
  if (why.empty()) {
    setup_timer_.cancel();
    last_read_ = Clock::now();
    set_last_write();
    // Held back for want of room: the writer looks again. The carrier dies with this.
    carrier_->on_room([this] {
      if (waiting_room_) {
        waiting_room_ = false;
        wake_.cancel();
      }
    });
    owner_.established(*this);
    auto self = shared_from_this();
    asio::co_spawn(
        ex_, [self]() -> awaitable<void> { co_await self->write_loop(); }, asio::detached);
    asio::co_spawn(
        ex_, [self]() -> awaitable<void> { co_await self->tick_loop(); }, asio::detached);
    why = co_await read_loop();
  }
  close(why);
  if (!finished_) {
    finished_ = true;
    {
      // Under the lock: an offer() that queued just before close() has told the owner (under
      // the lock) already, so the owner's figures never go below zero.
      std::lock_guard lock(write_mutex_);
      if (dropped_)
        owner_.queue_changed(*this, -static_cast<std::int64_t>(std::exchange(dropped_, 0)),
                             -static_cast<std::int64_t>(std::exchange(dropped_small_, 0)));
    }
    owner_.closed(*this, close_reason_);
  }
}

awaitable<std::string> Connection::write_now(const std::vector<std::uint8_t>& bytes) {
  boost::system::error_code ec;
  // The handshake's frames come with 2-byte lengths; a carrier that frames them with 4 gets
  // each length widened (two zero bytes before it).
  static constexpr std::uint8_t widen[2] = {0, 0};
  std::vector<asio::const_buffer> b;
  if (!established_ && carrier_->handshake_length_size() == 4) {
    for (std::size_t at = 0; at + 2 <= bytes.size();) {
      const std::size_t frame = 2 + (std::size_t{bytes[at]} << 8 | bytes[at + 1]);
      b.emplace_back(widen, 2);
      b.emplace_back(bytes.data() + at, std::min(frame, bytes.size() - at));
      at += frame;
    }
  } else {
    b.emplace_back(bytes.data(), bytes.size());
  }
  co_await carrier_->write(std::span(b), ec);
  if (closed_) co_return close_reason_;
  if (ec) co_return "write failed: " + ec.message();
  co_return std::string();
}

awaitable<std::string> Connection::handshake() {
  std::deque<HandshakeAction> todo;
  auto add = [&](std::vector<HandshakeAction> actions) {
    for (auto& a : actions) todo.push_back(std::move(a));
  };
  // The carrier's own set-up first (TLS: its handshake and the peer's chain verified), under
  // the same net_setuptime; the dialed peer must be the node its certificate names.
  if (std::string err = co_await carrier_->open(); !err.empty()) {
    if (closed_) co_return close_reason_;
    co_return refused_peer(err);
  }
  if (closed_) co_return close_reason_;
  const std::size_t length_size = carrier_->handshake_length_size();
  if (length_size != 2) reader_.reframe(length_size, handshake::max_frame_body);
  if (handshake_.role() == Handshake::Role::initiator)
    if (std::string err = carrier_->check_peer_name(handshake_.peer()); !err.empty())
      co_return refused_peer(err);
  std::string refusal;  // the acceptor's own reason to refuse the name the peer gave
  add(handshake_.start());
  for (;;) {
    while (!todo.empty()) {
      HandshakeAction a = std::move(todo.front());
      todo.pop_front();
      if (auto* s = std::get_if<handshake_action::Send>(&a)) {
        std::string err = co_await write_now(s->bytes);
        if (!err.empty()) co_return err;
      } else if (auto* admit = std::get_if<handshake_action::Admit>(&a)) {
        refusal = carrier_->check_peer_name(admit->peer);
        add(handshake_.admit(refusal.empty() ? owner_.admit(*this, *admit)
                                             : Admission::not_allowed));
      } else if (std::holds_alternative<handshake_action::ConfirmAlive>(a)) {
        add(handshake_.confirm_alive(owner_.confirm_alive(*this)));
      } else if (std::holds_alternative<handshake_action::ReplaceOld>(a)) {
        owner_.replace_old(*this);
      } else if (auto* done = std::get_if<handshake_action::Established>(&a)) {
        flags_ = done->flags;
        peer_creation_ = done->peer_creation;
        established_ = true;
        // What the peer sends next has 4-byte lengths; bytes read past the handshake stay.
        reader_.reframe(4, options_.limits.max_packet);
        carrier_->established();
        co_return std::string();
      } else if (auto* failed = std::get_if<handshake_action::Failed>(&a)) {
        if (!refusal.empty()) co_return refused_peer(refusal);
        std::string why = "handshake failed: " + std::string(to_string(failed->reason)) +
                          (failed->detail.empty() ? "" : " (" + failed->detail + ")");
        // nok, not_allowed and alive-then-false settle simultaneous and repeated connects:
        // the ordinary way two nodes agree on one connection, not a peer to warn about.
        const bool settled = failed->reason == HandshakeFailure::refused ||
                             failed->reason == HandshakeFailure::peer_connecting ||
                             failed->reason == HandshakeFailure::not_admitted;
        peer_connecting_ = failed->reason == HandshakeFailure::peer_connecting;
        co_return settled ? why : refused_peer(why);
      }
    }
    if (closed_) co_return close_reason_;
    auto frame = reader_.next();
    if (!frame) co_return "handshake failed: " + to_string(frame.error());
    if (*frame) {
      add(handshake_.on_frame((*frame)->bytes));
      continue;
    }
    boost::system::error_code ec;
    std::size_t n = co_await carrier_->read_some(reader_.space(), ec);
    if (closed_) co_return close_reason_;
    if (ec == asio::error::eof) co_return "handshake failed: the peer closed the connection";
    if (ec) co_return "handshake failed: " + carrier_->describe(ec);
    reader_.commit(n);
  }
}

awaitable<std::string> Connection::read_loop() {
  for (;;) {
    std::string why;
    owner_.handle_read([&] { why = handle_frames(); });
    if (!why.empty()) co_return why;
    if (closed_) co_return close_reason_;
    boost::system::error_code ec;
    std::size_t n = co_await carrier_->read_some(reader_.space(), ec);
    if (closed_) co_return close_reason_;
    if (ec == asio::error::eof) co_return "connection closed by the peer";
    if (ec) co_return "read failed: " + carrier_->describe(ec);
    reader_.commit(n);
    last_read_ = Clock::now();
  }
}

std::string Connection::handle_frames() {
  for (;;) {
    auto frame = reader_.next();
    if (!frame) return refused("bad frame from the peer: ", frame.error());
    if (!*frame) return {};
    if ((*frame)->bytes.empty()) {
      on_tick();
      continue;
    }
    auto m = (*frame)->placed ? decoder_.decode_placed((*frame)->bytes, (*frame)->placed)
                              : decoder_.decode((*frame)->bytes, (*frame)->owner);
    if (!m) return refused("bad packet from the peer: ", m.error());
    if (*m) owner_.received(*this, std::move(**m));
    if (closed_) return close_reason_.empty() ? "closed" : close_reason_;
  }
}

// Why the peer's bytes close the connection, logged once (a warning: the peer is broken or
// hostile, or its messages exceed what this node accepts).
std::string Connection::refused(const char* what, const WireError& e) const {
  std::string why = what + to_string(e);
  if (e.code == WireErrc::too_large)
    why += " (limits: a packet of at most " + std::to_string(options_.limits.max_packet) +
           " bytes, a fragmented message of at most " +
           std::to_string(options_.limits.max_message) + " bytes, " +
           std::to_string(options_.limits.max_sequences) + " fragmented messages at once)";
  if (log_enabled(LogLevel::warning))
    log(LogReport{
        LogLevel::warning, "dist_connection_refused", Pid(),
        "distribution connection to " + peer() + " (" + carrier_->remote() + ") closed: " + why});
  return why;
}

// A peer refused during the set-up (its certificate, its cookie's digest, its name or flags),
// logged once: a warning, since the peer is misconfigured or hostile. `why` never holds a
// secret (no cookie, no digest, no key).
std::string Connection::refused_peer(std::string why) const {
  if (log_enabled(LogLevel::warning)) {
    const bool dialed = handshake_.role() == Handshake::Role::initiator;
    const std::string& who = handshake_.peer();  // empty until an acceptor hears the name
    log(LogReport{LogLevel::warning, "dist_handshake_refused", Pid(),
                  std::string("distribution connection ") + (dialed ? "to " : "from ") +
                      (who.empty() ? "" : who + " ") + "(" + carrier_->remote() +
                      ") refused: " + why});
  }
  return why;
}

bool Connection::send(const ControlMessage& m, std::optional<Pid> sender) {
  if (!established()) return false;
  const std::uint64_t key = sender ? sender_key(*sender) : lane_key(m);
  ControlTerms t = to_terms(m, flags_);
  const bool fragmented = (flags_ & flag::fragments) && t.payload &&
                          etf::encoded_size(*t.payload) > options_.fragment_size + 1;
  std::lock_guard lock(write_mutex_);
  const std::size_t before = queued_bytes_, before_small = queued_small_;
  std::optional<Fragments> parts;
  if (fragmented) parts = fragment(t, next_sequence_, options_.fragment_size);
  if (parts) {
    ++next_sequence_;
    auto payload = std::make_shared<const etf::Segments>(std::move(parts->payload));
    for (std::size_t i = 0; i < parts->heads.size(); ++i)
      queue(key,
            Frame{std::move(parts->heads[i]), payload, parts->from[i], parts->length[i], true});
  } else if (streams_ > 1 || lane_of_.contains(key)) {
    Frame f;
    encode_packet_append(t, flags_, f.bytes);
    queue(key, std::move(f));
  } else {
    if (direct_.empty() || direct_.back().size() >= direct_chunk) {
      direct_.emplace_back();
      if (!spare_.empty()) {
        direct_.back().swap(spare_.back());
        spare_.pop_back();
      }
    }
    const std::size_t n = encode_packet_append(t, flags_, direct_.back());
    queued_bytes_ += n;
    queued_small_ += n;
  }
  wake_.cancel();  // the writer, if it waits
  owner_.queue_changed(*this, static_cast<std::int64_t>(queued_bytes_ - before),
                       static_cast<std::int64_t>(queued_small_ - before_small));
  return true;
}

Connection::Offer Connection::offer(const ControlMessage& m, bool later) {
  // Encoded before the lock, into this thread's buffer: the lock is held only to write or
  // queue. flags_ is set before the handshake ends, and the caller got this connection from
  // its owner after that, through a lock.
  thread_local std::vector<std::uint8_t> packet;
  ControlTerms t = to_terms(m, flags_);
  if (t.payload && etf::encoded_size(*t.payload) > options_.fragment_size + 1)
    return Offer::refused;  // fragments (or one large packet): send() decides
  packet.clear();
  const std::size_t n = encode_packet_append(t, flags_, packet);
  const std::uint64_t key = lane_key(m);
  std::lock_guard lock(write_mutex_);
  if (closed_ || !established_) return Offer::refused;
  if (streams_ > 1) {
    // Into the sender's lane, for its stream; the writer (on the executor) takes it.
    Frame f;
    f.bytes.assign(packet.data(), packet.data() + n);
    queue(key, std::move(f));
    owner_.queue_changed(*this, static_cast<std::int64_t>(n), static_cast<std::int64_t>(n));
    if (!wake_posted_) {
      wake_posted_ = true;
      wake_writer_later();
    }
    return Offer::queued;
  }
  if (lane_of_.contains(key)) return Offer::refused;
  const bool idle = direct_.empty() && lanes_.empty() && !writing_now_;
  if (idle && later) {
    // Nothing else writes these bytes: the caller's flush() does, with what follows them.
    queue_direct(std::span(packet.data(), n));
    flush_pending_ = true;
    flusher_ = std::this_thread::get_id();
    return Offer::flush;
  }
  if (idle) {
    // Nothing waits and nothing is being written: these bytes are next on the stream.
    boost::system::error_code ec;
    asio::const_buffer b(packet.data(), n);
    const std::size_t w = carrier_->try_write(std::span(&b, 1), ec);
    if (ec) return Offer::refused;  // the writer meets the same failure and closes
    if (w) {
      set_last_write();
      writes_.fetch_add(1, std::memory_order_relaxed);
    }
    if (w == n) return Offer::written;
    // The rest waits for the writer, which nothing else wakes.
    queue_direct(std::span(packet.data() + w, n - w));
    wake_writer_later();
    return Offer::queued;
  }
  // Behind what waits: the writer writes it, or has been woken to (whoever queued the first
  // bytes woke it), or writes now and looks again afterwards, or a flush() is due.
  queue_direct(std::span(packet.data(), n));
  // The flush due is another thread's, whose run may go on for long, or it has a whole batch
  // to write already: written now, from here.
  if (flush_pending_ &&
      (flusher_ != std::this_thread::get_id() || queued_small_ >= options_.max_batch))
    flush_locked();
  return Offer::queued;
}

void Connection::flush() {
  std::lock_guard lock(write_mutex_);
  if (flush_pending_) flush_locked();
}

void Connection::flush_locked() {
  flush_pending_ = false;
  // Closed: dropped. Being written, or lanes queued (whose sender woke the writer): the
  // writer takes direct_ first in its next batch.
  if (closed_ || writing_now_ || !lanes_.empty() || direct_.empty()) return;
  thread_local std::vector<asio::const_buffer> buffers;
  buffers.clear();
  for (const auto& chunk : direct_) buffers.emplace_back(chunk.data(), chunk.size());
  boost::system::error_code ec;
  std::size_t w = carrier_->try_write(buffers, ec);
  if (w) {
    set_last_write();
    writes_.fetch_add(1, std::memory_order_relaxed);
    queued_bytes_ -= w;
    queued_small_ -= w;
    owner_.queue_changed(*this, -static_cast<std::int64_t>(w), -static_cast<std::int64_t>(w));
  }
  while (w && !direct_.empty()) {
    std::vector<std::uint8_t>& chunk = direct_.front();
    if (w < chunk.size()) {
      chunk.erase(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(w));
      break;
    }
    w -= chunk.size();
    chunk.clear();
    if (spare_.size() < 16 && chunk.capacity() <= 2 * direct_chunk)
      spare_.push_back(std::move(chunk));
    direct_.pop_front();
  }
  // What the carrier did not take (or a failure, which the writer meets and closes with).
  if (!direct_.empty()) wake_writer_later();
}

void Connection::queue_direct(std::span<const std::uint8_t> b) {
  if (direct_.empty() || direct_.back().size() >= direct_chunk) {
    direct_.emplace_back();
    if (!spare_.empty()) {
      direct_.back().swap(spare_.back());
      spare_.pop_back();
    }
  }
  direct_.back().insert(direct_.back().end(), b.begin(), b.end());
  queued_bytes_ += b.size();
  queued_small_ += b.size();
  owner_.queue_changed(*this, static_cast<std::int64_t>(b.size()),
                       static_cast<std::int64_t>(b.size()));
}

void Connection::wake_writer_later() {
  // The timer is the executor's: cancelled there, on a later turn (the writer looks at the
  // queue before each wait, so a wake-up that finds it writing is not needed).
  asio::post(ex_, [w = weak_from_this()] {
    if (auto self = w.lock()) self->wake_.cancel();
  });
}

void Connection::set_last_write() noexcept {
  last_write_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

void Connection::queue(std::uint64_t key, Frame frame) {
  auto it = lane_of_.find(key);
  if (it == lane_of_.end()) {
    lanes_.push_back(Lane{key, stream_of(key, streams_), {}});
    it = lane_of_.emplace(key, std::prev(lanes_.end())).first;
  }
  queued_bytes_ += frame.size();
  if (!frame.fragment) queued_small_ += frame.size();
  it->second->frames.push_back(std::move(frame));
}

void Connection::queue_tick() {
  tick_due_ = true;
  wake_.cancel();
}

void Connection::on_tick() {
  ++ticks_received_;
  // Answer it (as erl_interface does), so that a peer with a shorter net_ticktime than ours
  // still reads something often enough; OTP itself does not answer.
  const Clock::time_point last(Clock::duration(last_write_.load(std::memory_order_relaxed)));
  if (Clock::now() - last >= tick_answer_gap) queue_tick();
}

awaitable<void> Connection::write_loop() {
  static constexpr std::uint8_t tick[4] = {0, 0, 0, 0};
  std::vector<Frame> batch;
  std::vector<std::uint32_t> batch_streams;  // of each frame in `batch`
  std::vector<asio::const_buffer> buffers;
  std::vector<std::uint32_t> streams;  // of each buffer (several streams only)
  const bool several = streams_ > 1;
  for (;;) {
    batch.clear();
    batch_streams.clear();
    buffers.clear();
    streams.clear();
    std::size_t written = 0, small = 0;
    {
      std::lock_guard lock(write_mutex_);
      if (closed_) co_return;
      wake_posted_ = false;
      for (auto& chunk : writing_) {
        chunk.clear();
        if (spare_.size() < 16 && chunk.capacity() <= 2 * direct_chunk)
          spare_.push_back(std::move(chunk));
      }
      writing_.clear();
      std::size_t bytes = 0;
      if (tick_due_) {
        tick_due_ = false;
        ++ticks_sent_;
        buffers.emplace_back(tick, sizeof tick);
        bytes += sizeof tick;
      }
      while (!direct_.empty() && bytes < options_.max_batch) {
        writing_.push_back(std::move(direct_.front()));
        direct_.pop_front();
        buffers.emplace_back(writing_.back().data(), writing_.back().size());
        bytes += writing_.back().size();
        written += writing_.back().size();
      }
      small = written;
      // One frame from each sender in turn, until the batch is full or nothing is left (or,
      // several streams, nothing is left whose stream has room).
      for (bool took = true; took && !lanes_.empty() && bytes < options_.max_batch;) {
        took = false;
        for (auto it = lanes_.begin(); it != lanes_.end() && bytes < options_.max_batch;) {
          if (several && !carrier_->has_room(it->stream)) {
            ++it;
            continue;
          }
          took = true;
          bytes += it->frames.front().size();
          batch.push_back(std::move(it->frames.front()));
          batch_streams.push_back(it->stream);
          it->frames.pop_front();
          if (it->frames.empty()) {
            lane_of_.erase(it->key);
            it = lanes_.erase(it);
          } else {
            ++it;
          }
        }
      }
      if (several) streams.assign(buffers.size(), 0);  // the tick goes on stream 0
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const Frame& f = batch[i];
        buffers.emplace_back(f.bytes.data(), f.bytes.size());
        if (f.payload) slice(f.payload->iovecs(), f.from, f.length, buffers);
        if (several) streams.resize(buffers.size(), batch_streams[i]);
        written += f.size();
        if (!f.fragment) small += f.size();
      }
      // Nothing to write: wait, for new frames, or for room when frames wait for it.
      waiting_room_ = buffers.empty() && !lanes_.empty();
      // offer() queues behind this write from now on, instead of writing itself.
      writing_now_ = !buffers.empty();
    }
    if (buffers.empty()) {
      // Looked at and waited for on one turn of the executor: a wake-up (a cancel) comes on a
      // later one, so it finds this wait.
      boost::system::error_code ec;
      wake_.expires_at(Clock::time_point::max());
      co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    boost::system::error_code ec;
    if (several)
      co_await carrier_->write_streams(buffers, streams, ec);
    else
      co_await carrier_->write(buffers, ec);
    set_last_write();
    writes_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(write_mutex_);
      writing_now_ = false;
      if (closed_) co_return;  // the queue was dropped meanwhile
      if (!ec) {
        queued_bytes_ -= written;
        queued_small_ -= small;
        owner_.queue_changed(*this, -static_cast<std::int64_t>(written),
                             -static_cast<std::int64_t>(small));
      }
    }
    if (ec) {
      close("write failed: " + carrier_->describe(ec));
      co_return;
    }
  }
}

awaitable<void> Connection::tick_loop() {
  const auto round = std::max(options_.net_ticktime / 4, std::chrono::milliseconds(1));
  std::uint64_t writes_before = writes_.load(std::memory_order_relaxed);
  while (!closed_) {
    boost::system::error_code ec;
    tick_timer_.expires_after(round);
    co_await tick_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) co_return;
    auto now = Clock::now();
    if (now - last_read_ >= options_.net_ticktime) {
      close("net_tick_timeout: nothing read from the peer for a whole net_ticktime");
      co_return;
    }
    // As dist_util's send_tick: a tick when nothing was written during the last round.
    const std::uint64_t writes = writes_.load(std::memory_order_relaxed);
    bool empty = false;
    {
      std::lock_guard lock(write_mutex_);
      empty = lanes_.empty() && direct_.empty();
    }
    if (writes == writes_before && empty) queue_tick();
    writes_before = writes;
  }
}

}  // namespace ambitious::dist::detail
