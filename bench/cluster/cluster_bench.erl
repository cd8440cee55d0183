%% The twin of cluster_bench.cpp on three Erlang nodes: this node (bench_c) starts bench_a and
%% bench_b with peer:start_link/1 and runs, in one cluster:
%%   cluster_broadcast       one message to 10,000 subscribers (pg members of one group, spread
%%                           over the three nodes) with pg:get_members/1 and a plain send to
%%                           each, round after round: deliveries per second
%%   cluster_broadcast_last  the median, over the rounds, of the time from the broadcast until
%%                           the last subscriber has it
%%   global_lookup           global:whereis_name/1 per second, one looker per scheduler, names
%%                           among 1,000 (the integers 0..999) held on this node
%%   global_register         global:register_name/2 + unregister_name/1 pairs per second, from
%%                           this node, in the three-node cluster
%% Run (run.sh does it): erl -name bench_c@127.0.0.1 -setcookie C -noshell -pa DIR \
%%                           -eval 'cluster_bench:main()'
-module(cluster_bench).
-export([main/0, subscribers/3]).

-define(SUBSCRIBERS, 10000).
-define(ROUNDS, 100).
-define(NAMES, 1000).
-define(LOOKUPS, 2000000).
-define(REGISTRATIONS, 2000).
-define(GROUP, cluster_bench).

main() ->
    Dir = filename:dirname(code:which(?MODULE)),
    Args = ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir],
    Started = [begin
                   {ok, Peer, Node} = peer:start_link(#{name => Name, host => "127.0.0.1",
                                                        longnames => true, args => Args}),
                   {Peer, Node}
               end || Name <- [bench_a, bench_b]],
    Peers = [Node || {_, Node} <- Started],
    Nodes = [node() | Peers],
    %% A full mesh, as global makes it: every node sees the two others.
    [pong = erpc:call(P, net_adm, ping, [Q]) || P <- Peers, Q <- Nodes, P =/= Q],
    ok = global:sync(),
    broadcast(Nodes),
    lookup_and_register(),
    [peer:stop(Peer) || {Peer, _} <- Started],
    halt().

%% --- cluster_broadcast -------------------------------------------------------------------
broadcast(Nodes) ->
    Counts = split(?SUBSCRIBERS, length(Nodes)),
    [ok = erpc:call(N, ?MODULE, subscribers, [C, self(), ?GROUP])
     || {N, C} <- lists:zip(Nodes, Counts)],
    wait_members(?SUBSCRIBERS),
    T0 = erlang:monotonic_time(),
    Lasts = [round_trip(R, length(Nodes)) || R <- lists:seq(1, ?ROUNDS)],
    S = seconds(T0),
    print(cluster_broadcast, ?SUBSCRIBERS * ?ROUNDS / S, "deliveries/s"),
    print(cluster_broadcast_last, median(Lasts), "us").

%% One broadcast: a send to every member, then the word of each node that all its
%% subscribers have it.
round_trip(R, Nodes) ->
    T0 = erlang:monotonic_time(),
    [P ! {round, R} || P <- pg:get_members(?GROUP)],
    [receive {delivered, R} -> ok end || _ <- lists:seq(1, Nodes)],
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond).

%% Count subscribers on this node (started with its pg scope, which outlives this call), each
%% joined to Group; the one that makes a round's count complete tells Coordinator.
subscribers(Count, Coordinator, Group) ->
    case pg:start(pg) of
        {ok, _} -> ok;
        {error, {already_started, _}} -> ok
    end,
    Seen = atomics:new(1, []),
    Self = self(),
    [spawn(fun() ->
                   ok = pg:join(Group, self()),
                   Self ! joined,
                   subscriber(Seen, Count, Coordinator)
           end)
     || _ <- lists:seq(1, Count)],
    [receive joined -> ok end || _ <- lists:seq(1, Count)],
    ok.

subscriber(Seen, Count, Coordinator) ->
    receive
        {round, R} ->
            case atomics:add_get(Seen, 1, 1) of
                N when N =:= Count * R -> Coordinator ! {delivered, R};
                _ -> ok
            end,
            subscriber(Seen, Count, Coordinator)
    end.

%% pg's joins reach the other nodes' scopes asynchronously: wait until this node sees them all.
wait_members(N) ->
    case length(pg:get_members(?GROUP)) of
        N -> ok;
        _ -> timer:sleep(10), wait_members(N)
    end.

%% --- global --------------------------------------------------------------------------------
lookup_and_register() ->
    holders(?NAMES),
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
    print(global_register, ?REGISTRATIONS / seconds(T1), "pairs/s").

%% One holder process per name, on this node.
holders(Names) ->
    [yes = global:register_name(I, spawn(fun() -> receive stop -> ok end end))
     || I <- lists:seq(0, Names - 1)],
    ok.

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

%% --- helpers -------------------------------------------------------------------------------
split(Total, Parts) ->
    [Total div Parts + (if I =< Total rem Parts -> 1; true -> 0 end) || I <- lists:seq(1, Parts)].

median(Xs) -> lists:nth((length(Xs) + 1) div 2, lists:sort(Xs)).

seconds(T0) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond) / 1.0e6.

print(Bench, Value, Unit) ->
    io:format("bench=~s impl=erlang value=~w unit=~s~n", [atom_to_list(Bench), round(Value), Unit]).
