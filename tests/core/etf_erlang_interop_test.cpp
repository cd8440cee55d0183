#include "ambitious/core/etf.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "ambitious/core/term.hpp"

// Cross-checks against a real BEAM (erlang-base): Erlang generates terms and writes their
// term_to_binary bytes, we decode and re-encode them, and Erlang checks binary_to_term of our
// bytes equals its originals; we also compare printing, term order and byte-exact encoding.
// Then the reverse: terms built here, encoded, decoded by Erlang and compared with the same
// terms written in Erlang syntax.

using namespace ambitious;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The generator: random nested terms from a fixed seed plus hand-picked edge cases. Writes
// in.etf (records <<Size:32, Bytes>>), v2.etf (the same terms with minor_version 2), w.txt and
// p.txt (one printed term per line, "-" where printing cannot be compared: maps of more than 32
// keys print in hash order, local funs by an internal index), and order.txt (the indices of the
// terms in sorted order).
constexpr const char* generate_script = R"erl(
-module(ambitious_etf_gen).
-export([main/1]).
-mode(compile).

main([Dir]) ->
    rand:seed(exsss, {17, 42, 2025}),
    Port = hd(erlang:ports()),
    Pid = spawn(fun() -> receive stop -> ok end end),
    Fixed = [0, 255, 256, -1, -256, 1 bsl 31 - 1, -(1 bsl 31), 1 bsl 31, 1 bsl 63 - 1,
             -(1 bsl 63), 1 bsl 63, -(1 bsl 63) - 1, 1 bsl 64, 1 bsl 2040, -(1 bsl 2050),
             0.0, -0.0, 1.0e308, -1.0e308, 5.0e-324, 2.2250738585072014e-308, 0.1, 100.0,
             1000.0, 123456.0, 1.0e15, 1.0e16, 0.0001, 1.0e-5, 1.2345678901234567e19,
             1.0, 1, 2.5, 3,
             '', ok, 'EXIT', 'hello world', 'and', 'A', aB_1, 'a\nb', '\'q', 'é', 'ünïcödé',
             '☃', 'a\\b', list_to_atom(lists:duplicate(255, $x)),
             list_to_atom(lists:duplicate(255, 16#2603)),
             <<>>, <<"bin">>, <<"a\nb\"c">>, <<255>>, <<"é"/utf8>>, <<0, 1, 2>>, <<1:1>>,
             <<1, 2:3>>, <<255, 127:7>>, binary:copy(<<"0123456789">>, 100000),
             [], "", "abc", "é", [256], [0 | "ab"], "a\"b\\", [1, a | b], [a | b], [[] | []],
             {}, {{}}, #{}, #{a => 1}, #{1 => a, 1.0 => b, <<"k">> => [1], {t} => 2.0,
                                        "s" => x, [] => nil},
             maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
             maps:from_list([{integer_to_binary(I), I} || I <- lists:seq(1, 100)]),
             lists:seq(1, 1000), lists:seq(250, 260), lists:duplicate(70000, 7),
             list_to_tuple(lists:seq(1, 300)), nest(100),
             self(), Pid, make_ref(), make_ref(), Port, fun lists:map/2, fun erlang:self/0,
             fun(X) -> X + 1 end, {ping, self(), 42}],
    Random = [gen(4) || _ <- lists:seq(1, 1500)],
    Terms = Fixed ++ Random,
    write_records(filename:join(Dir, "in.etf"),
                  [case I rem 7 of
                       0 -> term_to_binary(T, [compressed]);
                       _ -> term_to_binary(T)
                   end || {I, T} <- lists:zip(lists:seq(1, length(Terms)), Terms)]),
    write_records(filename:join(Dir, "v2.etf"),
                  [term_to_binary(T, [{minor_version, 2}]) || T <- Terms]),
    write_lines(filename:join(Dir, "w.txt"), [printed("~tw", T) || T <- Terms]),
    write_lines(filename:join(Dir, "p.txt"), [printed("~99999999tp", T) || T <- Terms]),
    Sorted = lists:sort(lists:zip(Terms, lists:seq(0, length(Terms) - 1))),
    write_lines(filename:join(Dir, "order.txt"), [integer_to_list(I) || {_, I} <- Sorted]),
    ok = file:write_file(filename:join(Dir, "terms.bin"), term_to_binary(Terms)),
    Pid ! stop.

nest(0) -> leaf;
nest(N) -> {N, [nest(N - 1)]}.

printed(Format, T) ->
    case comparable(T) of
        true -> io_lib:format(Format, [T]);
        false -> "-"
    end.

comparable(T) when is_map(T) ->
    map_size(T) =< 32 andalso
        lists:all(fun({K, V}) -> comparable(K) andalso comparable(V) end, maps:to_list(T));
comparable(T) when is_function(T) -> erlang:fun_info(T, type) =:= {type, external};
comparable(T) when is_tuple(T) -> comparable(tuple_to_list(T));
comparable([H | T]) -> comparable(H) andalso comparable(T);
comparable(_) -> true.

write_records(File, Bins) ->
    ok = file:write_file(File, [<<(byte_size(B)):32, B/binary>> || B <- Bins]).

write_lines(File, Lines) ->
    ok = file:write_file(File, [unicode:characters_to_binary([L, $\n]) || L <- Lines]).

pick(Tuple) -> element(rand:uniform(tuple_size(Tuple)), Tuple).

gen(0) -> leaf();
gen(D) ->
    case rand:uniform(12) of
        N when N =< 5 -> leaf();
        6 -> list_to_tuple([gen(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        7 -> [gen(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)];
        8 -> [gen(D - 1) || _ <- lists:seq(1, rand:uniform(3))] ++ leaf();
        9 -> maps:from_list([{gen(D - 1), gen(D - 1)} || _ <- lists:seq(1, rand:uniform(6) - 1)]);
        10 -> [rand:uniform(95) + 31 || _ <- lists:seq(1, rand:uniform(8))];
        11 -> {pick({ok, error, 'EXIT'}), gen(D - 1)};
        12 -> maps:from_list([{pick({a, 1, 1.0, "k", <<"k">>, {k}, [k]}), gen(D - 1)}
                              || _ <- lists:seq(1, 4)])
    end.

leaf() ->
    case rand:uniform(15) of
        1 -> rand:uniform(256) - 1;
        2 -> rand:uniform(1 bsl 32) - (1 bsl 31);
        3 -> (rand:uniform(1 bsl 64) - (1 bsl 63)) * rand:uniform(1 bsl 100);
        4 -> pick({0.0, -0.0, 1.0e308, 5.0e-324, 1.5, 0.1, 1.0e15, 1.0e16, 1.0e-5, 0.0001});
        5 -> (rand:uniform() - 0.5) * math:pow(10, rand:uniform(60) - 30);
        6 -> pick({ok, 'EXIT', 'hello world', 'é', '☃', '', 'A', aB_1, 'and', true, undefined});
        7 -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(20) - 1)]);
        8 -> pick({<<"hello">>, <<"héllo"/utf8>>, <<"tab\there">>, <<"☃"/utf8>>});
        9 -> N = rand:uniform(20), <<(rand:uniform(1 bsl N) - 1):N>>;
        10 -> pick({self(), make_ref()});
        11 -> hd(erlang:ports());
        12 -> pick({fun lists:map/2, fun erlang:'+'/2});
        13 -> pick({[], {}, #{}});
        14 -> pick({"abc", "é", "a b", [1000, 2000]});
        15 -> (1 bsl (64 + rand:uniform(300))) * pick({1, -1})
    end.
)erl";

// The checker: our re-encoded terms (out.etf) must decode to the originals (terms.bin), and
// ours.etf (terms built in C++) must decode to the terms written in expected.txt.
constexpr const char* check_script = R"erl(
-module(ambitious_etf_check).
-export([main/1]).
-mode(compile).

main([Dir]) ->
    {ok, Orig} = file:read_file(filename:join(Dir, "terms.bin")),
    Terms = binary_to_term(Orig),
    Ours = read_records(filename:join(Dir, "out.etf")),
    Bad = [I || {I, T, B} <- lists:zip3(lists:seq(0, length(Terms) - 1), Terms, Ours),
                binary_to_term(B) =/= T],
    Built = read_records(filename:join(Dir, "ours.etf")),
    {ok, Text} = file:read_file(filename:join(Dir, "expected.txt")),
    Lines = string:split(unicode:characters_to_list(Text), "\n", all),
    Expected = [eval(L) || L <- Lines, L =/= ""],
    BadBuilt = [{I, binary_to_term(B), E}
                || {I, B, E} <- lists:zip3(lists:seq(0, length(Built) - 1), Built, Expected),
                   binary_to_term(B) =/= E],
    io:format("checked ~p decoded, ~p built~n", [length(Terms), length(Built)]),
    case {Bad, BadBuilt, length(Ours) =:= length(Terms)} of
        {[], [], true} -> halt(0);
        _ -> io:format("mismatch: ~p~nbuilt: ~p~n", [lists:sublist(Bad, 20), BadBuilt]), halt(1)
    end.

eval(S) ->
    {ok, Tokens, _} = erl_scan:string(S ++ "."),
    {ok, [Expr]} = erl_parse:parse_exprs(Tokens),
    {value, V, _} = erl_eval:expr(Expr, []),
    V.

read_records(File) ->
    {ok, Bin} = file:read_file(File),
    split(Bin).
split(<<>>) -> [];
split(<<N:32, B:N/binary, Rest/binary>>) -> [B | split(Rest)].
)erl";

// Local funs are kept as opaque bytes, which differ with the atom encoding inside them.
bool has_local_fun(const Term& t) {
  if (t.is_fun()) return !t.is_export_fun();
  if (t.is_tuple())
    for (const Term& e : t.elements())
      if (has_local_fun(e)) return true;
  if (t.is_map())
    for (const MapEntry& e : t.entries())
      if (has_local_fun(e.key) || has_local_fun(e.value)) return true;
  if (t.is_cons()) {
    bool found = false;
    t.for_each_element([&](const Term& e) { return !(found = has_local_fun(e)); });
    return found || has_local_fun(t.list_tail());
  }
  return false;
}

bool have_erlang() { return std::system("command -v escript >/dev/null 2>&1") == 0; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<Bytes> read_records(const fs::path& p) {
  std::string all = slurp(p);
  std::vector<Bytes> out;
  std::size_t i = 0;
  while (i + 4 <= all.size()) {
    auto b = [&](std::size_t k) {
      return static_cast<std::uint32_t>(static_cast<unsigned char>(all[i + k]));
    };
    std::size_t n = b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
    out.emplace_back(all.begin() + static_cast<std::ptrdiff_t>(i + 4),
                     all.begin() + static_cast<std::ptrdiff_t>(i + 4 + n));
    i += 4 + n;
  }
  return out;
}

void write_records(const fs::path& p, const std::vector<Bytes>& records) {
  std::ofstream out(p, std::ios::binary);
  for (const auto& r : records) {
    auto n = static_cast<std::uint32_t>(r.size());
    char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                   static_cast<char>(n >> 8), static_cast<char>(n)};
    out.write(len, 4);
    out.write(reinterpret_cast<const char*>(r.data()), static_cast<std::streamsize>(r.size()));
  }
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class ErlangInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_erlang()) GTEST_SKIP() << "escript (erlang-base) is not installed";
    char tmpl[] = "/tmp/ambitious_etf_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "ambitious_etf_gen.erl") << generate_script;
    std::ofstream(dir_ / "ambitious_etf_check.erl") << check_script;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  int escript(const char* script) {
    std::string cmd = "cd '" + dir_.string() + "' && escript " + script + " '" + dir_.string() +
                      "' > '" + (dir_ / script).string() + ".log' 2>&1";
    int rc = std::system(cmd.c_str());
    if (rc != 0) ADD_FAILURE() << slurp(dir_ / (std::string(script) + ".log"));
    return rc;
  }
  fs::path dir_;
};

// Terms built in C++ beside the same terms in Erlang syntax.
std::vector<std::pair<Term, std::string>> built_terms() {
  std::uint8_t bits[] = {0xA0};
  return {
      {Term(atoms::ok), "ok"},
      {Term::tuple(atoms::ok, 42, Term::binary("bin"), Term::map({{atom("a"), 1}})),
       "{ok, 42, <<\"bin\">>, #{a => 1}}"},
      {Term(-0.0), "-0.0"},
      {Term(1.0e308), "1.0e308"},
      {Term(std::uint64_t{18446744073709551615u}), "18446744073709551615"},
      {Term(INT64_MIN), "-9223372036854775808"},
      {Term::integer(true, std::vector<std::uint8_t>(40, 0xFF)), "-(1 bsl 320 - 1)"},
      {Term(Atom("ünïcödé ☃")), "'ünïcödé ☃'"},
      {Term::string("héllo ☃"), "\"héllo ☃\""},
      {Term::list_from(std::vector<Term>{1, 2}, atom("tail")), "[1, 2 | tail]"},
      {Term::cons(1, Term::cons(2, Term())), "[1, 2]"},
      {Term::bitstring(bits, 3), "<<5:3>>"},
      {Term::binary(std::string(300000, 'q')), "binary:copy(<<\"q\">>, 300000)"},
      {Term::map({{1, atom("int")},
                  {1.0, atom("float")},
                  {Term::binary("k"), Term::list()},
                  {Term::tuple(), Term::map({})}}),
       "#{1 => int, 1.0 => float, <<\"k\">> => [], {} => #{}}"},
      {Term::export_fun(Atom("lists"), Atom("map"), 2), "fun lists:map/2"},
      {Term::tuple(), "{}"},
      {Term::list(Term::list(Term::list())), "[[[]]]"},
  };
}

TEST_F(ErlangInterop, terms_from_erlang_decode_print_sort_and_re_encode_as_erlang_does) {
  ASSERT_EQ(escript("ambitious_etf_gen.erl"), 0);
  auto in = read_records(dir_ / "in.etf");
  auto v2 = read_records(dir_ / "v2.etf");
  auto w = read_lines(dir_ / "w.txt");
  auto p = read_lines(dir_ / "p.txt");
  auto order = read_lines(dir_ / "order.txt");
  ASSERT_GT(in.size(), 1500u);
  ASSERT_EQ(v2.size(), in.size());
  ASSERT_EQ(w.size(), in.size());
  ASSERT_EQ(p.size(), in.size());

  std::vector<Term> terms;
  std::vector<Bytes> out;
  int bad_bytes = 0, bad_w = 0, bad_p = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto t = etf::decode(in[i]);
    ASSERT_TRUE(t.has_value()) << i << ": " << etf::to_string(t.error());
    auto v2t = etf::decode(v2[i]);
    ASSERT_TRUE(v2t.has_value()) << i;
    if (!has_local_fun(*t)) {
      EXPECT_EQ(*t, *v2t) << i;
    }
    out.push_back(etf::encode(*t));
    if (w[i] != "-") {
      // Byte-exact where Erlang's own output order is defined (maps of up to 32 keys).
      if (out.back() != v2[i] && ++bad_bytes <= 5) ADD_FAILURE() << "bytes differ: " << w[i];
      if (t->to_string(TermFormat::w) != w[i] && ++bad_w <= 5)
        ADD_FAILURE() << "~w: erl " << w[i] << "\n     ours " << t->to_string(TermFormat::w);
      if (t->to_string() != p[i] && ++bad_p <= 5)
        ADD_FAILURE() << "~tp: erl " << p[i] << "\n      ours " << t->to_string();
    }
    terms.push_back(std::move(*t));
  }
  EXPECT_EQ(bad_bytes + bad_w + bad_p, 0);

  // Term order: a stable sort by our <=> gives Erlang's lists:sort order.
  std::vector<std::size_t> idx(terms.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return terms[a] < terms[b]; });
  ASSERT_EQ(order.size(), idx.size());
  int bad_order = 0;
  for (std::size_t k = 0; k < idx.size(); ++k)
    if (std::to_string(idx[k]) != order[k] && ++bad_order <= 5)
      ADD_FAILURE() << "sorted position " << k << ": erl " << order[k] << " ours " << idx[k] << " ("
                    << terms[idx[k]].to_string() << ")";

  // Erlang decodes what we wrote back to the very terms it generated, and the built terms.
  write_records(dir_ / "out.etf", out);
  std::vector<Bytes> built;
  std::ofstream expected(dir_ / "expected.txt", std::ios::binary);
  for (auto& [term, text] : built_terms()) {
    built.push_back(etf::encode(term));
    expected << text << "\n";
  }
  expected.close();
  write_records(dir_ / "ours.etf", built);
  EXPECT_EQ(escript("ambitious_etf_check.erl"), 0);
}

}  // namespace
