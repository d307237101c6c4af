using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Idempotency.Benchmarks;

/// <summary>
/// What memory the process has never used costs on this machine, against memory it reuses: allocates
/// <c>count</c> native blocks of <c>size</c> bytes and writes to each (the kernel maps fresh pages on first touch), frees
/// them, and does it again (the allocator hands the same pages back). A growing in-memory store pays the first figure
/// for every byte it adds; a store held at its limit, which evicts as it adds, pays the second. Run with
/// <c>first-touch [count] [size]</c>; prints the process's CPU time per block for each pass.
/// </summary>
internal static class FirstTouchProbe
{
    public static void Run(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2_000_000;
        var size = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 400;
        var blocks = new nint[count];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fresh memory:  {AllocateAndTouch(blocks, size):0} ns of CPU per {size}-byte block ({count:N0} blocks)"));
        foreach (var block in blocks)
        {
            Marshal.FreeHGlobal(block);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reused memory: {AllocateAndTouch(blocks, size):0} ns of CPU per {size}-byte block"));
        foreach (var block in blocks)
        {
            Marshal.FreeHGlobal(block);
        }
    }

    private static double AllocateAndTouch(nint[] blocks, int size)
    {
        var bytes = new byte[size];
        Array.Fill(bytes, (byte)1);
        var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(size); // malloc, as NativeMemory.Alloc
            Marshal.Copy(bytes, 0, blocks[i], size); // as the store copies a record's bytes in
        }

        process.Refresh();
        return (process.TotalProcessorTime - before).TotalNanoseconds / blocks.Length;
    }
}
