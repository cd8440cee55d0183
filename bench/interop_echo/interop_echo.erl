%% interop_echo: one Erlang node drives sequential echo round trips against the C++ interop node
%% (examples/interop_node) and against an Erlang node serving the same echo, in one run (issue
%% 11, Benchmarks). run.sh starts everything; by hand, with epmd and the interop node running:
%%   erl -noshell -name drv@127.0.0.1 -setcookie COOKIE -pa BUILD \
%%       -run interop_echo main CPP_NODE [Runs=1] [RoundTrips=100000] [Warm=2000]
%% The Erlang echo node is started here (module `peer`, OTP 25) with the same cookie and epmd.
%%
%% The protocol is the interop node's `echo`: a registered process `echo` that answers
%% {Pid, Term} with Pid ! {echo, Term}. A round trip is {echo, Node} ! {self(), {n, I}} (a
%% REG_SEND of a 2-tuple holding a pid and the small tuple {n, I}) followed by a receive of
%% exactly {echo, {n, I}}; one message in flight. Every round trip is timed (monotonic clock,
%% nanoseconds) for the percentiles; the rate is RoundTrips over the whole loop's time.
%%
%% Each of Runs runs measures both targets, alternating which goes first (run 1: ambitious
%% first, run 2: erlang first, ...), and prints for each target
%%   bench=interop_echo impl=ambitious value=<round trips/s> unit=roundtrips_per_s  (interop_node)
%%   bench=interop_echo impl=erlang value=<round trips/s> unit=roundtrips_per_s     (Erlang node)
%% plus '#' lines: elapsed time, p50/p99/max of a round trip in microseconds, and at the end the
%% ratio ambitious/erlang of each run. Exit status 0, or 1 with a line on stderr when a target
%% does not answer within 5 s.
-module(interop_echo).
-export([main/1]).
-export([echo_init/1]).

-define(ANSWER_MS, 5000).

main([CppNode | Args]) ->
    [Runs, N, Warm] = defaults([list_to_integer(A) || A <- Args], [1, 100000, 2000]),
    Cpp = list_to_atom(CppNode),
    info("otp=~s driver=~p cpp=~p runs=~p round_trips=~p warm=~p term={n,I}",
         [erlang:system_info(otp_release), node(), Cpp, Runs, N, Warm]),
    connect(Cpp),
    {ok, Peer, ErlNode} = start_peer(),
    info("erlang_echo_node=~p", [ErlNode]),
    Targets = [{ambitious, Cpp}, {erlang, ErlNode}],
    Ratios = [begin
                  Order = case K rem 2 of 1 -> Targets; 0 -> lists:reverse(Targets) end,
                  Rates = [{Impl, measure(Impl, Node, N, Warm)} || {Impl, Node} <- Order],
                  Ratio = proplists:get_value(ambitious, Rates) / proplists:get_value(erlang, Rates),
                  info("run=~p ratio_ambitious_over_erlang=~.3f", [K, Ratio]),
                  Ratio
              end || K <- lists:seq(1, Runs)],
    info("ratios=~s", [string:join([io_lib:format("~.3f", [R]) || R <- Ratios], " ")]),
    peer:stop(Peer),
    erlang:halt(0);
main([]) ->
    io:format(standard_error, "usage: interop_echo CPP_NODE [Runs] [RoundTrips] [Warm]~n", []),
    erlang:halt(2).

defaults(Given, Defaults) ->
    Given ++ lists:nthtail(min(length(Given), length(Defaults)), Defaults).

connect(Node) ->
    case net_kernel:connect_node(Node) of
        true -> ok;
        _ -> fail("cannot connect to ~p", [Node])
    end.

%% The Erlang twin of interop_node's echo, on a node of its own (as dist_anchors starts dist_b).
start_peer() ->
    Code = filename:dirname(code:which(?MODULE)),
    Name = list_to_atom("ie_erl_" ++ os:getpid()),
    {ok, Peer, Node} =
        peer:start_link(#{name => Name, host => "127.0.0.1", longnames => true,
                          args => ["-setcookie", atom_to_list(erlang:get_cookie()),
                                   "-kernel", "inet_dist_use_interface", "{127,0,0,1}",
                                   "-pa", Code]}),
    connect(Node),
    Self = self(),
    spawn(Node, ?MODULE, echo_init, [Self]),
    receive {echo_ready, Node} -> ok after ?ANSWER_MS -> fail("no echo on ~p", [Node]) end,
    {ok, Peer, Node}.

echo_init(Parent) ->
    true = register(echo, self()),
    Parent ! {echo_ready, node()},
    echo_loop().

echo_loop() ->
    receive
        {From, Term} when is_pid(From) -> From ! {echo, Term};
        _ -> ok
    end,
    echo_loop().

%% ---------------------------------------------------------------------------
measure(Impl, Node, N, Warm) ->
    Dest = {echo, Node},
    ok = warm(Dest, Warm),
    T0 = erlang:monotonic_time(nanosecond),
    Samples = loop(Dest, 1, N, T0, []),
    Ns = erlang:monotonic_time(nanosecond) - T0,
    Sorted = lists:sort(Samples),
    Rate = N * 1.0e9 / Ns,
    info("interop_echo impl=~p node=~p round_trips=~p elapsed_ms=~.1f p50_us=~.1f p99_us=~.1f "
         "max_us=~.1f", [Impl, Node, N, Ns / 1.0e6, pct(Sorted, N, 0.50), pct(Sorted, N, 0.99),
                        lists:last(Sorted) / 1000]),
    io:format("bench=interop_echo impl=~p value=~.1f unit=roundtrips_per_s~n", [Impl, Rate]),
    Rate.

%% Samples are the durations of round trips, each ending where the next one starts.
loop(_Dest, I, N, _T, Acc) when I > N -> Acc;
loop(Dest, I, N, T, Acc) ->
    Dest ! {self(), {n, I}},
    receive
        {echo, {n, I}} ->
            T1 = erlang:monotonic_time(nanosecond),
            loop(Dest, I + 1, N, T1, [T1 - T | Acc])
    after ?ANSWER_MS -> fail("no answer from ~p to round trip ~p", [Dest, I])
    end.

warm(Dest, K) ->
    lists:foreach(fun(I) ->
                          Dest ! {self(), {n, -I}},
                          receive {echo, {n, J}} when J =:= -I -> ok
                          after ?ANSWER_MS -> fail("no answer from ~p while warming up", [Dest])
                          end
                  end, lists:seq(1, K)).

pct(Sorted, N, P) -> lists:nth(max(1, round(P * N)), Sorted) / 1000.

info(Fmt, Args) -> io:format("# " ++ Fmt ++ "~n", Args).

fail(Fmt, Args) ->
    io:format(standard_error, "interop_echo: " ++ Fmt ++ "~n", Args),
    erlang:halt(1).
