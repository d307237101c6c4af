using BenchmarkDotNet.Running;
using Idempotency.Benchmarks;

// "serve ..." runs the Kestrel app that scripts/benchmark-e2e.sh drives with wrk; anything else (but "store-size",
// "faster-store-size", "direct-cpu", "allocation-types", "first-touch" and "pg-unit-of-work") runs BenchmarkDotNet.
if (args.Length > 0 && args[0] == "serve")
{
    await BenchmarkServer.RunAsync(args[1..]);
    return;
}

// "store-size [operations] [sizes]" measures the in-memory store at 0, 1 M and 5 M records (or the comma-separated
// sizes given) by CPU time (InMemoryStoreSizeProbe).
if (args.Length > 0 && args[0] == "store-size")
{
    InMemoryStoreSizeProbe.Run(args[1..]);
    return;
}

// "faster-store-size [operations] [sizes]" measures the same operations modelled on Microsoft.FASTER.Core (FasterStoreSizeProbe).
if (args.Length > 0 && args[0] == "faster-store-size")
{
    FasterStoreSizeProbe.Run(args[1..]);
    return;
}

// "first-touch [count] [size]" measures what fresh memory costs against reused memory (FirstTouchProbe).
if (args.Length > 0 && args[0] == "first-touch")
{
    FirstTouchProbe.Run(args[1..]);
    return;
}

// "direct-cpu [operations] [method]" measures MiddlewareDirectBenchmarks by CPU time and exact allocations (DirectCpuProbe).
if (args.Length > 0 && args[0] == "direct-cpu")
{
    await DirectCpuProbe.RunAsync(args[1..]);
    return;
}

// "allocation-types [method] [operations]" lists the types a MiddlewareDirectBenchmarks method allocates (AllocationTypesProbe).
if (args.Length > 0 && args[0] == "allocation-types")
{
    await AllocationTypesProbe.RunAsync(args[1..]);
    return;
}

// "pg-unit-of-work <connection string> [seconds] [rounds]" measures the PostgreSQL unit of work without HTTP (PostgreSqlUnitOfWorkProbe).
if (args.Length > 0 && args[0] == "pg-unit-of-work")
{
    await PostgreSqlUnitOfWorkProbe.RunAsync(args[1..]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point of the benchmarks.</summary>
public partial class Program;
