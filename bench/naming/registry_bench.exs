# Elixir's Registry on the workloads of naming_bench.cpp; prints
# `bench=<name> impl=elixir value=<n> unit=<u>` lines. Run: elixir bench/naming/registry_bench.exs
defmodule NamingBench do
  @registered_keys 100_000
  @lookups_per_looker 2_000_000
  @registrations_per_process 500_000
  @subscribers 10_000
  @broadcast_rounds 21

  defp workers, do: System.schedulers_online()

  defp report(bench, value, unit),
    do: IO.puts("bench=#{bench} impl=elixir value=#{round(value)} unit=#{unit}")

  defp seconds_since(t0), do: (System.monotonic_time(:nanosecond) - t0) / 1.0e9

  # The same key sequence as naming_bench.cpp: an LCG modulo the number of keys.
  defp next_key(x), do: rem(x * 1_103_515_245 + 12345, 2_147_483_648)

  def lookup do
    {:ok, sup} = Registry.start_link(keys: :unique, name: :bench_lookup, partitions: workers())
    parent = self()

    holder =
      spawn(fn ->
        for i <- 0..(@registered_keys - 1), do: {:ok, _} = Registry.register(:bench_lookup, i, i)
        send(parent, :ready)
        receive do: (:stop -> :ok)
      end)

    receive do: (:ready -> :ok)

    lookers =
      for j <- 1..workers() do
        spawn(fn ->
          receive do: (:go -> :ok)
          lookup_loop(@lookups_per_looker, j)
          send(parent, :finished)
        end)
      end

    t0 = System.monotonic_time(:nanosecond)
    Enum.each(lookers, &send(&1, :go))
    Enum.each(lookers, fn _ -> receive do: (:finished -> :ok) end)
    report("registry_lookup", @lookups_per_looker * length(lookers) / seconds_since(t0), "lookups_per_s")
    send(holder, :stop)
    Supervisor.stop(sup)
  end

  defp lookup_loop(0, _), do: :ok

  defp lookup_loop(n, x) do
    [{_, _}] = Registry.lookup(:bench_lookup, rem(x, @registered_keys))
    lookup_loop(n - 1, next_key(x))
  end

  def register do
    {:ok, sup} = Registry.start_link(keys: :unique, name: :bench_register, partitions: workers())
    parent = self()

    procs =
      for j <- 1..workers() do
        spawn(fn ->
          receive do: (:go -> :ok)
          register_loop(0, j * 1_000_000_000)
          send(parent, :finished)
        end)
      end

    t0 = System.monotonic_time(:nanosecond)
    Enum.each(procs, &send(&1, :go))
    Enum.each(procs, fn _ -> receive do: (:finished -> :ok) end)

    report(
      "registry_register",
      @registrations_per_process * length(procs) / seconds_since(t0),
      "register_unregister_per_s"
    )

    Supervisor.stop(sup)
  end

  defp register_loop(@registrations_per_process, _), do: :ok

  defp register_loop(k, base) do
    {:ok, _} = Registry.register(:bench_register, base + k, k)
    :ok = Registry.unregister(:bench_register, base + k)
    register_loop(k + 1, base)
  end

  # Phoenix.PubSub's local broadcast: Registry.dispatch over a duplicate registry.
  def pubsub do
    {:ok, _} = Registry.start_link(keys: :duplicate, name: :bench_pubsub, partitions: workers())
    parent = self()
    remaining = :atomics.new(1, [])

    for _ <- 1..@subscribers do
      spawn(fn ->
        {:ok, _} = Registry.register(:bench_pubsub, "topic", nil)
        send(parent, :ready)
        subscriber_loop(remaining, parent)
      end)
    end

    for _ <- 1..@subscribers, do: receive(do: (:ready -> :ok))
    message = "hello"

    times =
      for _ <- 1..@broadcast_rounds do
        :atomics.put(remaining, 1, @subscribers)
        t0 = System.monotonic_time(:nanosecond)

        Registry.dispatch(:bench_pubsub, "topic", fn entries ->
          for {pid, _} <- entries, do: send(pid, message)
        end)

        receive do: (:all_received -> :ok)
        seconds_since(t0)
      end

    median = times |> Enum.sort() |> Enum.at(div(@broadcast_rounds, 2))
    report("pubsub_broadcast", @subscribers / median, "deliveries_per_s")
  end

  defp subscriber_loop(remaining, parent) do
    receive do
      message when is_binary(message) ->
        if :atomics.sub_get(remaining, 1, 1) == 0, do: send(parent, :all_received)
    end

    subscriber_loop(remaining, parent)
  end
end

NamingBench.lookup()
NamingBench.register()
NamingBench.pubsub()
