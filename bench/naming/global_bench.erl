%% The twin of global_bench.cpp on Erlang's global, one node: run with
%%   erl -noshell -pa DIR -eval 'global_bench:main()'
-module(global_bench).
-export([main/0]).

-define(NAMES, 1000).
-define(LOOKUPS, 2000000).
-define(REGISTRATIONS, 20000).

main() ->
    [yes = global:register_name(I, spawn(fun() -> receive stop -> ok end end))
     || I <- lists:seq(0, ?NAMES - 1)],
    Workers = erlang:system_info(schedulers_online),
    Parent = self(),
    T0 = erlang:monotonic_time(),
    [spawn(fun() -> Parent ! {done, look(W, 0, 0)} end) || W <- lists:seq(0, Workers - 1)],
    Found = lists:sum([receive {done, N} -> N end || _ <- lists:seq(1, Workers)]),
    S = seconds(T0),
    Found = ?LOOKUPS * Workers,
    print(global_lookup, Found / S, "lookups/s"),
    T1 = erlang:monotonic_time(),
    reg(?REGISTRATIONS),
    print(global_register, ?REGISTRATIONS / seconds(T1), "pairs/s"),
    halt().

look(_, ?LOOKUPS, Found) -> Found;
look(W, I, Found) ->
    case global:whereis_name((I + W) rem ?NAMES) of
        undefined -> look(W, I + 1, Found);
        _ -> look(W, I + 1, Found + 1)
    end.

reg(0) -> ok;
reg(N) ->
    yes = global:register_name(bench_name, self()),
    _ = global:unregister_name(bench_name),
    reg(N - 1).

seconds(T0) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond) / 1.0e6.

print(Bench, Value, Unit) ->
    io:format("bench=~s impl=erlang value=~w unit=~s~n", [atom_to_list(Bench), round(Value), Unit]).
