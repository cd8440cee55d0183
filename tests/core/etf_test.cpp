#include "ambitious/core/etf.hpp"
#include "ambitious/core/etf_segments.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "small_stack.hpp"

using namespace ambitious;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The largest single allocation while track_allocations is set (this thread's own only).
thread_local bool track_allocations = false;
thread_local std::size_t largest_allocation = 0;

}  // namespace

// A replacement of the global allocation functions (all of the unaligned ones, malloc
// underneath, so that every new meets its delete), to watch sizes.
namespace {
void* allocate(std::size_t n) noexcept {
  if (track_allocations) largest_allocation = std::max(largest_allocation, n);
  return std::malloc(n ? n : 1);
}
}  // namespace
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (void* p = allocate(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

Term round_trip(const Term& t) {
  auto bytes = etf::encode(t);
  EXPECT_EQ(bytes.size(), etf::encoded_size(t));
  auto back = etf::decode(bytes);
  EXPECT_TRUE(back.has_value()) << (back ? "" : etf::to_string(back.error()));
  return back ? *back : Term();
}

etf::DecodeErrc error_of(const Bytes& b, const etf::DecodeOptions& o = {}) {
  auto r = etf::decode(b, o);
  EXPECT_FALSE(r.has_value()) << r->to_string();
  return r ? etf::DecodeErrc::malformed : r.error().code;
}

}  // namespace

// Bytes below are what OTP 25's term_to_binary(T, [{minor_version, 2}]) writes.
TEST(Etf, small_terms_encode_as_term_to_binary_does) {
  EXPECT_EQ(etf::encode(Term(1)), (Bytes{131, 97, 1}));
  EXPECT_EQ(etf::encode(Term(-1)), (Bytes{131, 98, 255, 255, 255, 255}));
  EXPECT_EQ(etf::encode(Term(std::int64_t{1} << 40)), (Bytes{131, 110, 6, 0, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(etf::encode(atoms::ok), (Bytes{131, 119, 2, 'o', 'k'}));
  EXPECT_EQ(etf::encode(Term()), (Bytes{131, 106}));
  EXPECT_EQ(etf::encode(Term::list(1, 2)), (Bytes{131, 107, 0, 2, 1, 2}));
  EXPECT_EQ(etf::encode(Term::list(atoms::ok)),
            (Bytes{131, 108, 0, 0, 0, 1, 119, 2, 'o', 'k', 106}));
  EXPECT_EQ(etf::encode(Term(-0.0)), (Bytes{131, 70, 128, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(etf::encode(Term::binary("ab")), (Bytes{131, 109, 0, 0, 0, 2, 'a', 'b'}));
  EXPECT_EQ(etf::encode(Term::tuple()), (Bytes{131, 104, 0}));
  EXPECT_EQ(etf::encode(Term::map({})), (Bytes{131, 116, 0, 0, 0, 0}));
}

TEST(Etf, every_kind_of_term_round_trips) {
  std::uint8_t bits[] = {0xE0};
  Term big = Term::integer(true, std::vector<std::uint8_t>(300, 0xAB));
  Term t = Term::tuple(
      atoms::ok, 0, 255, 256, -1, INT64_MAX, INT64_MIN, std::uint64_t{UINT64_MAX}, big, 3.25, -0.0,
      1.0e308, Term::binary(""), Term::binary(std::string(70000, 'z')), Term::bitstring(bits, 3),
      Term::list(1, atoms::ok, Term::tuple()), Term::list_from(std::vector<Term>{1, 2}, atoms::nil),
      Term::string("héllo ☃"), Term::map({{1, 2}, {1.0, 3}, {Atom("a_key"), 4}}), Pid(0, 42, 1),
      Ref::make(), Port(0, 7), Port(0, std::uint64_t{1} << 40),
      Term::export_fun(Atom("lists"), Atom("map"), 2), Atom("ünïcödé"), Atom(""));
  EXPECT_EQ(round_trip(t), t);
}

TEST(Etf, every_strict_prefix_of_a_valid_encoding_is_truncated) {
  Term t = Term::tuple(atoms::ok, Term::list(1, 2.5, Term::binary("xyz")), Pid(0, 1, 2),
                       Term::map({{atoms::error, Ref::make()}}));
  auto bytes = etf::encode(t);
  for (std::size_t n = 1; n < bytes.size(); ++n)
    EXPECT_EQ(error_of(Bytes(bytes.begin(), bytes.begin() + n)), etf::DecodeErrc::truncated) << n;
  EXPECT_EQ(error_of({}), etf::DecodeErrc::truncated);
}

TEST(Etf, a_list_claiming_four_billion_elements_fails_fast) {
  EXPECT_EQ(error_of({131, 108, 255, 255, 255, 255, 97, 1, 97, 2, 106}),
            etf::DecodeErrc::truncated);
  EXPECT_EQ(error_of({131, 105, 255, 255, 255, 255, 97, 1}), etf::DecodeErrc::truncated);
  EXPECT_EQ(error_of({131, 116, 255, 255, 255, 255, 97, 1, 97, 1}), etf::DecodeErrc::truncated);
  EXPECT_EQ(error_of({131, 109, 255, 255, 255, 255, 1}), etf::DecodeErrc::truncated);
  EXPECT_EQ(error_of({131, 111, 255, 255, 255, 255, 0, 1}), etf::DecodeErrc::truncated);
}

TEST(Etf, nesting_beyond_the_depth_limit_is_refused) {
  Bytes deep{131};
  for (int i = 0; i < 100000; ++i) deep.insert(deep.end(), {104, 1});
  deep.push_back(106);
  EXPECT_EQ(error_of(deep), etf::DecodeErrc::too_deep);

  Bytes ok{131};
  for (int i = 0; i < 100; ++i) ok.insert(ok.end(), {108, 0, 0, 0, 1});
  ok.push_back(106);
  for (int i = 0; i < 100; ++i) ok.push_back(106);
  auto r = etf::decode(ok);
  ASSERT_TRUE(r.has_value());
  etf::DecodeOptions shallow;
  shallow.max_depth = 50;
  EXPECT_EQ(error_of(ok, shallow), etf::DecodeErrc::too_deep);
}

TEST(Etf, bad_fields_are_refused) {
  EXPECT_EQ(error_of({130, 97, 1}), etf::DecodeErrc::bad_version);
  EXPECT_EQ(error_of({131, 200}), etf::DecodeErrc::unknown_tag);
  EXPECT_EQ(error_of({131, 97, 1, 0}), etf::DecodeErrc::trailing_bytes);
  EXPECT_EQ(error_of({131, 110, 1, 2, 5}), etf::DecodeErrc::malformed);            // sign 2
  EXPECT_EQ(error_of({131, 77, 0, 0, 0, 1, 0, 255}), etf::DecodeErrc::malformed);  // 0 bits
  EXPECT_EQ(error_of({131, 77, 0, 0, 0, 1, 9, 255}), etf::DecodeErrc::malformed);  // 9 bits
  EXPECT_EQ(error_of({131, 70, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0}), etf::DecodeErrc::malformed);  // NaN
  EXPECT_EQ(error_of({131, 119, 2, 0xC3, 0x28}), etf::DecodeErrc::bad_atom);
  EXPECT_EQ(error_of({131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2}),
            etf::DecodeErrc::duplicate_map_key);
  EXPECT_EQ(error_of({131, 90, 0, 0, 119, 1, 'a', 0, 0, 0, 0}), etf::DecodeErrc::malformed);
  EXPECT_EQ(error_of({131, 88, 97, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
            etf::DecodeErrc::malformed);  // node is not an atom
}

TEST(Etf, old_tags_still_decode) {
  // ATOM_EXT in Latin-1, SMALL_ATOM_EXT, FLOAT_EXT, PID_EXT, REFERENCE_EXT, PORT_EXT.
  auto a = etf::decode(Bytes{131, 100, 0, 2, 'h', 0xE9});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->as_atom().name(), "h\xC3\xA9");
  EXPECT_EQ(*etf::decode(Bytes{131, 115, 2, 'o', 'k'}), atoms::ok);
  Bytes f{131, 99};
  std::string text = "1.50000000000000000000e+00";
  f.insert(f.end(), text.begin(), text.end());
  f.resize(2 + 31, 0);
  EXPECT_EQ(*etf::decode(f), Term(1.5));
  Bytes nonode{100, 0, 13};
  for (char c : std::string_view("nonode@nohost")) nonode.push_back(static_cast<std::uint8_t>(c));
  Bytes pid{131, 103};
  pid.insert(pid.end(), nonode.begin(), nonode.end());
  pid.insert(pid.end(), {0, 0, 0, 9, 0, 0, 0, 1, 0});
  EXPECT_EQ(*etf::decode(pid), Term(Pid(0, 9, 1)));
  Bytes ref{131, 101};
  ref.insert(ref.end(), nonode.begin(), nonode.end());
  ref.insert(ref.end(), {0, 0, 0, 5, 0});
  auto r = etf::decode(ref);
  ASSERT_TRUE(r && r->is_ref());
  EXPECT_EQ(r->as_ref().length, 1u);
  EXPECT_EQ(r->as_ref().words[0], 5u);
  Bytes port{131, 102};
  port.insert(port.end(), nonode.begin(), nonode.end());
  port.insert(port.end(), {0, 0, 0, 3, 0});
  EXPECT_EQ(*etf::decode(port), Term(Port(0, 3)));
}

TEST(Etf, compressed_terms_inflate_within_their_bound) {
  Term t = Term::binary(std::string(100000, 'a'));
  auto plain = etf::encode(t);
  uLongf size = compressBound(static_cast<uLong>(plain.size() - 1));
  Bytes z(size);
  ASSERT_EQ(compress(z.data(), &size, plain.data() + 1, static_cast<uLong>(plain.size() - 1)),
            Z_OK);
  z.resize(size);
  auto body = static_cast<std::uint32_t>(plain.size() - 1);
  Bytes packed{131,
               80,
               static_cast<std::uint8_t>(body >> 24),
               static_cast<std::uint8_t>(body >> 16),
               static_cast<std::uint8_t>(body >> 8),
               static_cast<std::uint8_t>(body)};
  packed.insert(packed.end(), z.begin(), z.end());
  auto back = etf::decode(packed);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, t);

  etf::DecodeOptions small;
  small.max_uncompressed = 1000;
  EXPECT_EQ(error_of(packed, small), etf::DecodeErrc::too_large);
  Bytes lying = packed;
  lying[5] ^= 1;  // announces a size the stream does not have
  EXPECT_EQ(error_of(lying), etf::DecodeErrc::bad_compression);
}

// What OTP 25 writes for term_to_binary({lists:duplicate(40, {ok, <<"abc">>}), lists:seq(1, 30)},
// [compressed]): 641 bytes inflated from 66.
const Bytes erlang_compressed{
    131, 80,  0,   0,   2,   129, 120, 156, 203, 96,  202, 97,  96,  96,  208, 200, 96,  74,  97,
    96,  202, 207, 206, 5,   178, 153, 19,  147, 146, 71,  185, 163, 92,  170, 112, 179, 178, 25,
    228, 24,  153, 152, 89,  88,  217, 216, 57,  56,  185, 184, 121, 120, 249, 248, 5,   4,   133,
    132, 69,  68,  197, 196, 37,  36,  165, 164, 101, 100, 229, 0,   118, 242, 133, 195};

TEST(Etf, a_compressed_term_from_erlang_decodes) {
  std::vector<Term> pairs(40, Term::tuple(atoms::ok, Term::binary("abc")));
  std::vector<Term> seq;
  for (int i = 1; i <= 30; ++i) seq.emplace_back(i);
  auto r = etf::decode(erlang_compressed);
  ASSERT_TRUE(r) << etf::to_string(r.error());
  EXPECT_EQ(*r, Term::tuple(Term::list_from(std::span<const Term>(pairs)),
                            Term::list_from(std::span<const Term>(seq))));
}

TEST(Etf, a_compressed_term_whose_inflated_size_differs_from_the_announced_one_fails) {
  for (int delta : {-1, +1, -600, +1000}) {
    Bytes lying = erlang_compressed;
    std::uint32_t size = 641 + delta;
    lying[2] = static_cast<std::uint8_t>(size >> 24);
    lying[3] = static_cast<std::uint8_t>(size >> 16);
    lying[4] = static_cast<std::uint8_t>(size >> 8);
    lying[5] = static_cast<std::uint8_t>(size);
    auto r = etf::decode(lying);
    ASSERT_FALSE(r) << delta;
    EXPECT_EQ(r.error(), (etf::DecodeError{etf::DecodeErrc::bad_compression, 2})) << delta;
  }
  Bytes corrupt = erlang_compressed;
  corrupt[20] ^= 0xFF;
  auto r = etf::decode(corrupt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, etf::DecodeErrc::bad_compression);
  EXPECT_GE(r.error().offset, 6u);
  EXPECT_LE(r.error().offset, corrupt.size());
}

TEST(Etf, a_compressed_term_announcing_64_mb_in_11_bytes_fails_without_allocating_them) {
  // A zlib header and the start of a stored block, then nothing: what comes out bounds what is
  // allocated, not the announced 0x03FFFFFF bytes.
  const Bytes lying{0x83, 0x50, 0x03, 0xff, 0xff, 0xff, 0x78, 0x9c, 0x01, 0x02, 0x03};
  track_allocations = true;
  largest_allocation = 0;
  auto r = etf::decode(lying);
  track_allocations = false;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), (etf::DecodeError{etf::DecodeErrc::truncated, lying.size()}));
  EXPECT_LT(largest_allocation, std::size_t{1} << 20);
  // Each prefix of a real compressed term is truncated too.
  for (std::size_t n = 7; n < erlang_compressed.size(); ++n)
    EXPECT_EQ(error_of(Bytes(erlang_compressed.begin(), erlang_compressed.begin() + n)),
              etf::DecodeErrc::truncated)
        << n;
}

TEST(Etf, safe_mode_accepts_only_existing_atoms) {
  Bytes fresh{131, 119, 24};
  std::string name = "etf_test_never_made_atom";
  fresh.insert(fresh.end(), name.begin(), name.end());
  etf::DecodeOptions safe;
  safe.safe = true;
  auto before = Atom::count();
  EXPECT_EQ(error_of(fresh, safe), etf::DecodeErrc::unknown_atom);
  EXPECT_EQ(Atom::count(), before);
  EXPECT_EQ(*etf::decode(Bytes{131, 119, 2, 'o', 'k'}, safe), atoms::ok);
}

TEST(Etf, one_decode_makes_at_most_its_budget_of_new_atoms) {
  Bytes list{131, 108, 0, 0, 0, 10};
  for (int i = 0; i < 10; ++i) {
    std::string name = "etf_budget_atom_" + std::to_string(i);
    list.push_back(119);
    list.push_back(static_cast<std::uint8_t>(name.size()));
    list.insert(list.end(), name.begin(), name.end());
  }
  list.push_back(106);
  etf::DecodeOptions budget;
  budget.max_new_atoms = 4;
  auto before = Atom::count();
  EXPECT_EQ(error_of(list, budget), etf::DecodeErrc::atom_budget);
  EXPECT_EQ(Atom::count(), before + 4);
  etf::DecodeOptions reserve;
  reserve.atom_reserve = Atom::max_atoms - Atom::count();  // the table counts as full
  EXPECT_EQ(error_of(list, reserve), etf::DecodeErrc::atom_table_full);
  EXPECT_TRUE(etf::decode(list).has_value());  // the default budget allows ten
}

TEST(Etf, decode_prefix_reports_the_bytes_it_used) {
  Bytes two = etf::encode(Term(7));
  auto second = etf::encode(atoms::ok);
  two.insert(two.end(), second.begin(), second.end());
  auto r = etf::decode_prefix(two);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, Term(7));
  EXPECT_EQ(r->second, 3u);
}

TEST(Etf, encode_and_encode_append_write_what_encode_into_writes_whatever_the_size) {
  // encode() and encode_append() write in one pass into a buffer that grows (from the stack,
  // for encode()); encode_into() sizes first. Sizes around each growth step, and large binaries
  // (appended without zero-filling) before, between and after other bytes.
  std::vector<Term> terms;
  for (std::size_t n : {0, 1, 240, 248, 249, 250, 251, 252, 253, 254, 255, 256, 300, 4090, 5000})
    terms.push_back(Term::binary(std::string(n, 'b')));
  for (int n : {60, 61, 62, 63, 64, 65, 127, 128, 1000, 100'000}) {
    std::vector<Term> ints;
    for (int i = 0; i < n; ++i) ints.emplace_back(i * 1000);
    terms.push_back(Term::list_from(std::span<const Term>(ints)));
  }
  Term big = Term::binary(std::string(65'536, 'x')), huge = Term::binary(std::string(300'000, 'y'));
  terms.push_back(big);
  terms.push_back(Term::tuple(atoms::ok, big));
  terms.push_back(Term::tuple(Term::binary(std::string(200, 's')), huge, big, atoms::ok));
  terms.push_back(Term::list(huge, Term::binary(std::string(10'000, 'z')), huge));
  for (const Term& t : terms) {
    Bytes exact(etf::encoded_size(t));
    ASSERT_EQ(etf::encode_into(t, exact), exact.size());
    EXPECT_EQ(etf::encode(t), exact) << exact.size();
    Bytes appended{7, 7, 7};
    etf::encode_append(t, appended);
    ASSERT_EQ(appended.size(), 3 + exact.size());
    EXPECT_TRUE(std::equal(exact.begin(), exact.end(), appended.begin() + 3)) << exact.size();
    EXPECT_EQ(etf::encode_segments(t).flatten(), exact) << exact.size();
  }
}

TEST(Etf, encode_append_adds_to_a_buffer) {
  Bytes out{1, 2};
  etf::encode_append(atoms::ok, out);
  EXPECT_EQ(out, (Bytes{1, 2, 131, 119, 2, 'o', 'k'}));
  std::uint8_t small[3];
  EXPECT_THROW(etf::encode_into(atoms::ok, small), std::length_error);
}

TEST(Etf, terms_a_million_levels_deep_encode_and_decode_in_constant_stack) {
  constexpr int deep = 1'000'000;
  test::on_small_stack([] {
    Term tuples = Term(1), lists = Term(1), maps = Term(1);
    for (int i = 0; i < deep; ++i) {
      tuples = Term::tuple(std::move(tuples));
      lists = Term::list(std::move(lists), atoms::ok);
      maps = Term::map({{Term(i), std::move(maps)}});
    }
    etf::DecodeOptions raised;
    raised.max_depth = 10'000'000;
    for (const Term* t : {&tuples, &lists, &maps}) {
      auto bytes = etf::encode(*t);
      EXPECT_EQ(bytes.size(), etf::encoded_size(*t));
      std::vector<std::uint8_t> appended{1, 2, 3};
      etf::encode_append(*t, appended);
      EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), appended.begin() + 3));
      // Refused at the default depth, as before, with the offset where the limit was hit.
      auto refused = etf::decode(bytes);
      ASSERT_FALSE(refused);
      EXPECT_EQ(refused.error().code, etf::DecodeErrc::too_deep);
      auto back = etf::decode(bytes, raised);
      ASSERT_TRUE(back) << etf::to_string(back.error());
      EXPECT_TRUE(*back == *t);
    }
    // Truncated anywhere deep inside: a clean error, and everything decoded so far is freed.
    auto bytes = etf::encode(maps);
    bytes.resize(bytes.size() / 2);
    auto cut = etf::decode(bytes, raised);
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error(), (etf::DecodeError{etf::DecodeErrc::truncated, bytes.size()}));
  });
}

TEST(Etf, a_list_nested_through_its_tails_is_one_list_not_a_deep_term) {
  // [1 | [1 | ... [1 | []]]] as a million one-element LIST_EXTs, each the tail of the one
  // before: OTP writes a proper list as one LIST_EXT, but a peer may send this.
  constexpr int cells = 1'000'000;
  Bytes in{131};
  for (int i = 0; i < cells; ++i) in.insert(in.end(), {108, 0, 0, 0, 1, 97, 1});
  in.push_back(106);
  test::on_small_stack([&] {
    auto r = etf::decode(in);  // the default max_depth: tails do not nest
    ASSERT_TRUE(r) << etf::to_string(r.error());
    EXPECT_EQ(r->size(), std::size_t{cells});
    EXPECT_TRUE(r->is_proper_list());
    EXPECT_EQ(*r, Term::list_from(std::vector<Term>(cells, Term(1))));
    Bytes out = etf::encode(*r);  // one LIST_EXT
    EXPECT_EQ(out.size(), 1 + 5 + 2 * std::size_t{cells} + 1);
  });
}

namespace {

// A binary of `n` bytes that differ from one another (so a wrong offset shows).
Term pattern(std::size_t n, std::uint8_t seed) {
  return Term::binary_filled(n, [&](std::span<std::uint8_t> b) {
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 7 + seed);
  });
}

// A binary Term holding `bytes`: what a carrier has after reading a frame.
Term frame_of(const Bytes& bytes) {
  return Term::binary_filled(bytes.size(), [&](std::span<std::uint8_t> b) {
    std::copy(bytes.begin(), bytes.end(), b.begin());
  });
}

bool inside(std::span<const std::uint8_t> part, std::span<const std::uint8_t> whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

TEST(Etf, decode_shared_makes_large_binaries_slices_of_the_buffer_that_outlive_it) {
  Term big = pattern(100'000, 1), small = Term::binary("abc");
  Term t = Term::tuple(big, small, Term::list(big, atoms::ok), Term::map({{big, small}}));
  Term buffer = frame_of(etf::encode(t));
  auto r = etf::decode_shared(buffer);
  ASSERT_TRUE(r) << etf::to_string(r.error());
  EXPECT_EQ(*r, t);
  EXPECT_TRUE(inside((*r)[0].bytes(), buffer.bytes()));   // shared, not copied
  EXPECT_FALSE(inside((*r)[1].bytes(), buffer.bytes()));  // under share_from: copied
  // A slice is a binary like any other.
  Term slice = (*r)[0];
  EXPECT_TRUE(slice.is_binary());
  EXPECT_EQ(slice.hash(), big.hash());
  EXPECT_EQ(Term::compare(slice, big), std::weak_ordering::equivalent);
  EXPECT_EQ(etf::encode(slice), etf::encode(big));
  EXPECT_EQ(slice.to_string().substr(0, 12), big.to_string().substr(0, 12));
  // The buffer's bytes live as long as a slice does: drop every other handle on them.
  buffer = Term();
  r = Term();
  t = Term();
  Term copy = slice;
  slice = Term();
  ASSERT_EQ(copy.size(), 100'000u);
  EXPECT_EQ(copy, big);
  EXPECT_EQ(copy.bytes()[99'999], static_cast<std::uint8_t>(99'999 * 7 + 1));
}

TEST(Etf, decode_shared_copies_below_its_threshold_and_shares_slices_of_slices) {
  Term big = pattern(80'000, 3);
  Bytes inner = etf::encode(Term::tuple(atoms::ok, big));
  // A binary holding an encoded term, itself encoded: decoding the outer gives a slice that is
  // an ETF buffer; decoding that shares the first buffer again.
  Term outer = frame_of(etf::encode(Term::binary(std::span<const std::uint8_t>(inner))));
  auto level1 = etf::decode_shared(outer);
  ASSERT_TRUE(level1);
  ASSERT_TRUE(inside(level1->bytes(), outer.bytes()));
  auto level2 = etf::decode_shared(*level1);
  ASSERT_TRUE(level2);
  Term deepest = (*level2)[1];
  EXPECT_TRUE(inside(deepest.bytes(), outer.bytes()));
  outer = Term();
  level1 = Term();
  level2 = Term();
  EXPECT_EQ(deepest, big);

  etf::DecodeOptions copy_all;
  copy_all.share_from = SIZE_MAX;
  Term buffer = frame_of(etf::encode(big));
  auto copied = etf::decode_shared(buffer, copy_all);
  ASSERT_TRUE(copied);
  EXPECT_EQ(*copied, big);
  EXPECT_FALSE(inside(copied->bytes(), buffer.bytes()));
}

TEST(Etf, decode_prefix_shared_decodes_each_term_of_a_frame_in_turn) {
  // A distribution frame holds a control message and then the message itself.
  Term control = Term::tuple(2, atoms::undefined, Pid(0, 5, 0)), message = pattern(70'000, 9);
  Bytes frame = {112};  // the pass-through byte, not part of a term
  for (const Term* t : {&control, &message}) {
    auto b = etf::encode(*t);
    frame.insert(frame.end(), b.begin(), b.end());
  }
  Term buffer = frame_of(frame);
  auto first = etf::decode_prefix_shared(buffer, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first, control);
  auto second = etf::decode_prefix_shared(buffer, 1 + first->second);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->first, message);
  EXPECT_EQ(1 + first->second + second->second, frame.size());
  EXPECT_TRUE(inside(second->first.bytes(), buffer.bytes()));
  auto bad = etf::decode_prefix_shared(buffer, 0);  // 112 is no version byte
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), (etf::DecodeError{etf::DecodeErrc::bad_version, 0}));
  EXPECT_THROW(etf::decode_prefix_shared(buffer, frame.size() + 1), std::out_of_range);
  EXPECT_THROW(etf::decode_shared(Term(atoms::ok)), BadTerm);
}

TEST(Etf, encode_segments_references_large_binaries_and_writev_writes_what_encode_does) {
  Term a = pattern(100'000, 5), b = pattern(70'000, 6);
  Term t = Term::tuple(atoms::ok, a, Term::binary("small"), Term::list(b, 1), 2.5);
  Bytes expected = etf::encode(t);
  etf::Segments seg = etf::encode_segments(t);
  EXPECT_EQ(seg.size(), expected.size());
  EXPECT_EQ(seg.flatten(), expected);
  // Ours, a, ours, b, ours: a and b by reference.
  auto iov = seg.iovecs();
  ASSERT_EQ(iov.size(), 5u);
  EXPECT_EQ(iov[1].iov_base, a.bytes().data());
  EXPECT_EQ(iov[1].iov_len, a.size());
  EXPECT_EQ(iov[3].iov_base, b.bytes().data());
  // The segments keep the binaries alive; a move keeps the pieces where they are.
  t = Term();
  a = Term();
  b = Term();
  etf::Segments moved = std::move(seg);
  EXPECT_EQ(moved.flatten(), expected);
  EXPECT_EQ(seg.size(), 0u);  // NOLINT(bugprone-use-after-move): left empty
  EXPECT_TRUE(seg.iovecs().empty());
  // writev(2) writes exactly encode(t).
  int fd = memfd_create("etf_segments", 0);
  ASSERT_GE(fd, 0);
  ssize_t written = writev(fd, moved.iovecs().data(), static_cast<int>(moved.iovecs().size()));
  EXPECT_EQ(written, static_cast<ssize_t>(expected.size()));
  Bytes back(expected.size());
  EXPECT_EQ(pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  close(fd);
  EXPECT_EQ(back, expected);

  // Under the threshold, everything is copied: one piece.
  etf::Segments whole = etf::encode_segments(Term::tuple(pattern(1000, 1)));
  ASSERT_EQ(whole.iovecs().size(), 1u);
  EXPECT_EQ(whole.flatten(), etf::encode(Term::tuple(pattern(1000, 1))));
  // A term that is one large binary: the header, then the binary.
  Term alone = pattern(65'536, 2);
  etf::Segments two = etf::encode_segments(alone);
  ASSERT_EQ(two.iovecs().size(), 2u);
  EXPECT_EQ(two.iovecs()[0].iov_len, 6u);
  EXPECT_EQ(two.flatten(), etf::encode(alone));
}

TEST(Etf, a_map_in_hash_order_decodes_into_key_order_and_a_key_twice_is_refused) {
  // OTP writes a map of more than 32 keys in the order of its hash trie.
  std::vector<std::pair<Term, Term>> entries;
  for (int i = 0; i < 100; ++i) {
    entries.emplace_back(Term::binary("key_" + std::to_string(i)), i);
    entries.emplace_back(Term::atom("an_atom_with_a_long_name_" + std::to_string(i)), i);
    entries.emplace_back(Term(i * 7919 - 300'000), i);
  }
  Term expected = Term::map_from(entries);
  std::mt19937 random(11);
  auto map_ext = [](const std::vector<std::pair<Term, Term>>& es) {
    Bytes out{131, 116};
    auto n = static_cast<std::uint32_t>(es.size());
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(n >> shift));
    for (const auto& [k, v] : es)
      for (const Term* t : {&k, &v}) {
        auto b = etf::encode(*t);
        out.insert(out.end(), b.begin() + 1, b.end());
      }
    return out;
  };
  for (int round = 0; round < 10; ++round) {
    std::shuffle(entries.begin(), entries.end(), random);
    auto back = etf::decode(map_ext(entries));
    ASSERT_TRUE(back) << etf::to_string(back.error());
    EXPECT_EQ(*back, expected);
  }
  entries.push_back(entries[17]);
  std::shuffle(entries.begin(), entries.end(), random);
  auto twice = etf::decode(map_ext(entries));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error(), (etf::DecodeError{etf::DecodeErrc::duplicate_map_key, 1}));
}

TEST(Etf, slices_of_one_buffer_are_freed_from_several_threads) {
  // Each slice holds a reference on the buffer's node: the last one to go frees it, whichever
  // thread that is.
  Term buffer = frame_of(etf::encode(Term::list(pattern(70'000, 1), pattern(80'000, 2))));
  auto t = etf::decode_shared(buffer);
  ASSERT_TRUE(t);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([copy = *t, i] {
      for (int k = 0; k < 1000; ++k) {
        Term slice = copy.head();
        Term again = slice;
        EXPECT_EQ(again.size(), 70'000u);
      }
      (void)i;
    });
  buffer = Term();
  t = Term();
  for (auto& th : threads) th.join();
}
