%% Writes the seed corpus: term_to_binary of varied terms, one file each (run by hand:
%% escript fuzz/make_corpus.erl fuzz/corpus).
main([Dir]) ->
    Terms = [ok, 'EXIT', 'héllo', '☃', 0, 255, 256, -1, 1 bsl 31, 1 bsl 70, -(1 bsl 300),
             3.14, -0.0, 1.0e308, <<>>, <<"bin">>, <<1,2:3>>, "string", [], {}, #{},
             [1, a | b], {ok, [1, 2, 3], <<"x">>, #{a => 1, 2 => [3]}},
             {ping, self(), 42}, make_ref(), hd(erlang:ports()), fun lists:map/2,
             fun(X) -> X end, maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
             lists:seq(1, 300), list_to_tuple(lists:seq(1, 300)),
             [[[[[[nested]]]]]], {{{{{{deep}}}}}}, binary:copy(<<"ab">>, 500)],
    lists:foreach(
      fun({I, T}) ->
              ok = file:write_file(filename:join(Dir, "seed_" ++ integer_to_list(I)),
                                   term_to_binary(T)),
              ok = file:write_file(filename:join(Dir, "seed_v2_" ++ integer_to_list(I)),
                                   term_to_binary(T, [{minor_version, 2}]))
      end, lists:zip(lists:seq(1, length(Terms)), Terms)),
    ok = file:write_file(filename:join(Dir, "seed_compressed"),
                         term_to_binary(lists:duplicate(100, <<"abc">>), [compressed])),
    %% A compressed term that announces 64 MB and holds a cut-off zlib stream.
    ok = file:write_file(filename:join(Dir, "seed_compressed_lying_size"),
                         <<131, 80, 16#03ffffff:32, 16#78, 16#9c, 1, 2, 3>>),
    ok = file:write_file(filename:join(Dir, "seed_old_float"),
                         term_to_binary(2.5, [{minor_version, 0}])).
