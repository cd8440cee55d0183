#include "mailbox.hpp"

#include <algorithm>

#include "ambitious/process/monitor.hpp"

namespace ambitious::detail {

Mailbox::~Mailbox() { free_list(inbox_.close()); }

void Mailbox::free_list(Message* m) noexcept {
  while (m) {
    Message* next = m->next;
    destroy(m);
    m = next;
  }
}

std::vector<const Message*> Mailbox::pushed_messages() const {
  std::vector<const Message*> out;
  for (const Message* m = inbox_.newest(); m; m = m->next)
    if (!is_signal(*m)) out.push_back(m);
  std::reverse(out.begin(), out.end());
  return out;
}

void Mailbox::clear() noexcept {
  queue_.clear();
  cursor_ = nullptr;
  mark_ = nullptr;
}

void Mailbox::flush_down(const Ref& ref) noexcept {
  // A Down for `ref` cannot be older than `ref`: when it is the mark, start there.
  Message* before = mark_ref_ == ref ? mark_ : nullptr;
  for (Message* m = queue_.after(before); m;) {
    Message* next = m->next;
    if (m->type == message_type<Down> && value_of<Down>(*m).ref == ref) {
      remove(before, m);
      destroy(m);
    } else {
      before = m;
    }
    m = next;
  }
}

}  // namespace ambitious::detail
