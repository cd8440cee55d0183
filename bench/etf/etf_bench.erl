#!/usr/bin/env escript
%% The shapes of etf_bench.cpp through term_to_binary/binary_to_term; prints
%% `bench=<name> impl=erlang value=<number> unit=<unit>` lines.
-mode(compile).

main(_) ->
    Shapes = [{"small", {ping, self(), 42}},
              {"list_1000_ints", lists:seq(0, 999)},
              {"map_100", maps:from_list([{<<"key_", (integer_to_binary(I))/binary>>, I}
                                          || I <- lists:seq(1, 100)])},
              {"binary_1mb", binary:copy(<<"x">>, 1 bsl 20)},
              {"nested_tuples", element(1, tree(8, 0))}],
    lists:foreach(fun bench/1, Shapes),
    %% The twin of etf_decode_map_100_unsorted: OTP writes a map of more than 32 keys in the
    %% order of its hash trie, so its own map_100 bytes are already what that line decodes.
    {_, Map100} = lists:keyfind("map_100", 1, Shapes),
    MapBin = term_to_binary(Map100),
    MapDec = ns_per_op(fun(N) -> decode_loop(MapBin, N) end),
    line("etf_decode_map_100_unsorted", MapDec, "ns_per_msg"),
    line("etf_decode_map_100_unsorted_mbps", byte_size(MapBin) / 1.0e6 / (MapDec * 1.0e-9),
         "MB_per_s").

tree(0, C) -> {C, C + 1};
tree(D, C0) ->
    {L, C1} = tree(D - 1, C0),
    {R, C2} = tree(D - 1, C1),
    {{node, C2, L, R}, C2 + 1}.

%% term_to_iovec/1 is the twin of etf::encode_segments (large binaries by reference).
bench({Name, Term}) ->
    Bin = term_to_binary(Term),
    Enc = ns_per_op(fun(N) -> encode_loop(Term, N) end),
    Dec = ns_per_op(fun(N) -> decode_loop(Bin, N) end),
    Iov = ns_per_op(fun(N) -> iovec_loop(Term, N) end),
    MB = byte_size(Bin) / 1.0e6,
    line("etf_encode_" ++ Name, Enc, "ns_per_msg"),
    line("etf_decode_" ++ Name, Dec, "ns_per_msg"),
    line("etf_encode_" ++ Name ++ "_mbps", MB / (Enc * 1.0e-9), "MB_per_s"),
    line("etf_decode_" ++ Name ++ "_mbps", MB / (Dec * 1.0e-9), "MB_per_s"),
    line("etf_encode_" ++ Name ++ "_iovec", Iov, "ns_per_msg"),
    line("etf_encode_" ++ Name ++ "_iovec_mbps", MB / (Iov * 1.0e-9), "MB_per_s").

line(Bench, Value, Unit) ->
    io:format("bench=~s impl=erlang value=~.1f unit=~s~n", [Bench, float(Value), Unit]).

%% Growing batches until 300 ms have passed, as the C++ side does.
ns_per_op(Run) ->
    Run(3),
    Start = erlang:monotonic_time(nanosecond),
    ns_per_op(Run, 1, 0, Start).
ns_per_op(Run, N, Done, Start) ->
    Run(N),
    Elapsed = erlang:monotonic_time(nanosecond) - Start,
    case Elapsed >= 300000000 of
        true -> Elapsed / (Done + N);
        false -> ns_per_op(Run, N * 2, Done + N, Start)
    end.

%% The results feed an accumulator so that the compiler cannot drop the calls.
encode_loop(T, N) -> encode_loop(T, N, 0).
encode_loop(_, 0, Acc) -> Acc;
encode_loop(T, N, Acc) -> encode_loop(T, N - 1, Acc + byte_size(term_to_binary(T))).

iovec_loop(T, N) -> iovec_loop(T, N, 0).
iovec_loop(_, 0, Acc) -> Acc;
iovec_loop(T, N, Acc) -> iovec_loop(T, N - 1, Acc + length(term_to_iovec(T))).

decode_loop(B, N) -> decode_loop(B, N, 0).
decode_loop(_, 0, Acc) -> Acc;
decode_loop(B, N, Acc) -> decode_loop(B, N - 1, Acc + kind(binary_to_term(B))).

kind(X) when is_atom(X) -> 0;
kind(_) -> 1.
