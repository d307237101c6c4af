using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using FASTER.core;

namespace Idempotency.Benchmarks;

/// <summary>
/// Issue 16 asked to measure Microsoft.FASTER.Core before writing a store layout of our own. This probe models the
/// in-memory store's work on a <c>FasterKV&lt;SpanByte, SpanByte&gt;</c> kept in memory (a <see cref="NullDevice"/>
/// behind the log) and measures it like <see cref="InMemoryStoreSizeProbe"/> measures ours: the process's CPU time per
/// operation at 0, 1 M and 5 M completed records, allocations, and a forced gen2 collection. Run with
/// <c>faster-store-size [operations per measurement]</c>.
/// </summary>
/// <remarks>
/// <para>What is modelled, as favourably to FASTER as the store's contract allows:</para>
/// <list type="bullet">
/// <item>A claim is one read-modify-write: an absent key gets an in-flight record (expiry, fingerprint, owner token);
/// a present one is reported (in flight, completed with the same fingerprint: replayed, or another fingerprint).</item>
/// <item>A completion is one read-modify-write fenced by the owner token; the record grows (the owner token is replaced
/// by a payload of 200 bytes), so FASTER appends a new copy of the record at the log's tail.</item>
/// <item>The store is held at its size by deleting the oldest key after each new key (a tombstone). The probe knows
/// which key is oldest from its own counter; a real store would need a queue of keys by age beside FASTER, and per
/// scope for the share, which is not modelled (nor is its cost counted).</item>
/// <item>Memory is bounded by compaction: once the log spans more than twice what the records held need, its oldest
/// part is compacted (live records copied to the tail, expired ones dropped by <see cref="ICompactionFunctions{Key, Value}"/>),
/// within the same measured loop, so its cost is spread over the new keys that made it necessary. Without it a log
/// kept in memory drops its oldest pages whatever they hold, records in flight included.</item>
/// <item>One session, one thread: FASTER's sessions are single-threaded; a server would pool them.</item>
/// </list>
/// </remarks>
internal static class FasterStoreSizeProbe
{
    private const int FingerprintLength = 32;
    private const int OwnerLength = 24;
    private const int PayloadLength = 200;
    private const byte InFlight = 0;
    private const byte Completed = 1;

    public static void Run(string[] args)
    {
        var operations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var sizes = args.Length > 1 ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [0, 1_000_000, 5_000_000];
        InMemoryStoreSizeProbe.WriteHeader($" {"log MiB",8}");
        foreach (var records in sizes)
        {
            using var store = new Store(records);
            store.Fill();
            string LogSize() => string.Create(CultureInfo.InvariantCulture, $" {store.LogBytes / (1024 * 1024),8}");
            InMemoryStoreSizeProbe.Measure(records, "replay (hot key)", operations, store.Replay, extraColumns: LogSize);
            InMemoryStoreSizeProbe.Measure(records, "look-up of a held key", operations, store.LookUpRandomHeldKey, extraColumns: LogSize);
            InMemoryStoreSizeProbe.Measure(records, "new key", operations, store.NewKey, store.ResetCompactionCounters, LogSize);
            InMemoryStoreSizeProbe.Measure(records, "forced gen2 collection", 5, () => GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false), extraColumns: LogSize);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{records,9} compactions during the measured new keys: {store.Compactions}, {store.CompactedBytes >> 20} MiB compacted, {store.CompactionCopiedBytes >> 20} MiB of it copied to the tail, {store.CompactionCpu.TotalMilliseconds:0} ms of CPU"));
        }
    }

    /// <summary>What a claim or a completion found.</summary>
    private enum Outcome
    {
        None,
        Claimed,
        InFlight,
        Replayed,
        FingerprintMismatch,
        CompletedNow,
        NotOwner,
    }

    private struct Output
    {
        public Outcome Outcome;
        public byte[]? Payload;
    }

    /// <summary>The store: keys are the scoped key's UTF-8 bytes; a value is [state][expiry ticks][fingerprint][owner or payload].</summary>
    private sealed class Store : IDisposable
    {
        private const string Scope = "user-4f1c2a9e";
        private static readonly long s_lease = TimeSpan.FromMinutes(1).Ticks;
        private static readonly long s_retention = TimeSpan.FromDays(1).Ticks;

        private readonly int _records;
        private readonly int _held;
        private readonly FasterKV<SpanByte, SpanByte> _kv;
        private readonly ClientSession<SpanByte, SpanByte, SpanByte, Output, Empty, ClaimFunctions> _claims;
        private readonly ClientSession<SpanByte, SpanByte, SpanByte, Output, Empty, CompleteFunctions> _completions;
        private readonly byte[] _fingerprint = RandomNumberGenerator.GetBytes(FingerprintLength);
        private readonly byte[] _payload = RandomNumberGenerator.GetBytes(PayloadLength);
        private readonly byte[] _replayKey;
        private readonly long _liveBytesPerRecord;
        private readonly long _compactionThreshold;
        private long _nextNew;
        private long _oldestNew;
        private long _ownerCounter;
        private int _oldestHeld;
        private uint _random = 2_463_534_242;

        public Store(int records)
        {
            _records = records;
            _held = Math.Max(records, 1_024);
            var buckets = 1L << 16;
            while (buckets * 2 < _held)
            {
                buckets <<= 1; // about one 64-byte bucket (7 entries) per two records
            }

            // Compaction once the log spans 1.5 times what the records held need (at least 8 MiB); the log's memory at
            // least three times that need, so that no record held ever leaves it; 90 % of it read-only, since only that
            // part can be compacted.
            _liveBytesPerRecord = 8 + RoundUp8(4 + HeldKey(0).Length) + RoundUp8(4 + 1 + 8 + FingerprintLength + PayloadLength);
            _compactionThreshold = Math.Max(3 * (_held + 1) * _liveBytesPerRecord / 2, 8L << 20);
            var memoryBits = 25;
            while ((1L << memoryBits) < 2 * _compactionThreshold)
            {
                memoryBits++;
            }

            _kv = new FasterKV<SpanByte, SpanByte>(
                buckets,
                new LogSettings { LogDevice = new NullDevice(), MemorySizeBits = memoryBits, PageSizeBits = 22, MutableFraction = 0.1 });
            _claims = _kv.For(new ClaimFunctions()).NewSession<ClaimFunctions>(
                sessionVariableLengthStructSettings: new SessionVariableLengthStructSettings<SpanByte, SpanByte> { valueLength = new ClaimLength() });
            _completions = _kv.For(new CompleteFunctions()).NewSession<CompleteFunctions>(
                sessionVariableLengthStructSettings: new SessionVariableLengthStructSettings<SpanByte, SpanByte> { valueLength = new CompletionLength() });
            _replayKey = Encoding.UTF8.GetBytes(IdempotencyStorageKey.Create(Scope, "hot-9c1e-4b7a-8f3d-2a6b5c4d3e2f0a1b2c"));
        }

        public long LogBytes => _kv.Log.TailAddress - _kv.Log.BeginAddress;

        public int Compactions { get; private set; }

        public long CompactedBytes { get; private set; }

        public long CompactionCopiedBytes { get; private set; }

        public TimeSpan CompactionCpu { get; private set; }

        public void ResetCompactionCounters()
        {
            Compactions = 0;
            CompactedBytes = 0;
            CompactionCopiedBytes = 0;
            CompactionCpu = TimeSpan.Zero;
        }

        public void Fill()
        {
            // The fill compacts as it goes too, so that a large store never outgrows the log's memory.
            var random = new Random(_records);
            var fingerprint = new byte[FingerprintLength];
            var payload = new byte[PayloadLength];
            for (var i = 0; i < _records; i++)
            {
                random.NextBytes(fingerprint);
                random.NextBytes(payload);
                ClaimAndComplete(HeldKey(i), fingerprint, payload);
                CompactIfNeeded();
            }

            ClaimAndComplete(_replayKey, _fingerprint, _payload);
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        public void Replay()
        {
            var outcome = Claim(_replayKey, _fingerprint, out var payload);
            if (outcome != Outcome.Replayed || payload!.Length != PayloadLength)
            {
                throw new InvalidOperationException($"The hot key answered {outcome}.");
            }
        }

        public void LookUpRandomHeldKey()
        {
            _random ^= _random << 13;
            _random ^= _random >> 17;
            _random ^= _random << 5;
            var key = _records == 0 ? _replayKey : HeldKey(_oldestHeld + (int)(_random % (uint)(_records - _oldestHeld)));
            var outcome = Claim(key, _fingerprint, out _);
            if (outcome != Outcome.FingerprintMismatch && !(_records == 0 && outcome == Outcome.Replayed))
            {
                throw new InvalidOperationException($"A held key answered {outcome}.");
            }
        }

        public void NewKey()
        {
            var key = NewKeyBytes(++_nextNew);
            ClaimAndComplete(key, _fingerprint, _payload);

            // Held at its size: the oldest record goes (the filled ones first, then the new ones in order).
            if (_oldestHeld < _records)
            {
                Delete(HeldKey(_oldestHeld++));
            }
            else if (_nextNew - _oldestNew >= _held)
            {
                Delete(NewKeyBytes(++_oldestNew));
            }

            CompactIfNeeded();
        }

        private void ClaimAndComplete(byte[] key, byte[] fingerprint, byte[] payload)
        {
            Span<byte> owner = stackalloc byte[OwnerLength];
            BinaryPrimitives.WriteInt64LittleEndian(owner, ++_ownerCounter);
            BinaryPrimitives.WriteInt64LittleEndian(owner[8..], Environment.ProcessId);
            var claimed = Claim(key, fingerprint, owner, out _);
            if (claimed != Outcome.Claimed)
            {
                throw new InvalidOperationException($"A new key answered {claimed}.");
            }

            var completed = Complete(key, owner, fingerprint, payload);
            if (completed != Outcome.CompletedNow)
            {
                throw new InvalidOperationException($"A completion answered {completed}.");
            }
        }

        // A replay and a look-up are claims of a key that is there: the same read-modify-write, which finds the record.
        private Outcome Claim(byte[] key, ReadOnlySpan<byte> fingerprint, out byte[]? payload)
        {
            Span<byte> owner = stackalloc byte[OwnerLength];
            BinaryPrimitives.WriteInt64LittleEndian(owner, ++_ownerCounter);
            return Claim(key, fingerprint, owner, out payload);
        }

        private unsafe Outcome Claim(byte[] key, ReadOnlySpan<byte> fingerprint, ReadOnlySpan<byte> owner, out byte[]? payload)
        {
            Span<byte> input = stackalloc byte[1 + 8 + FingerprintLength + OwnerLength];
            input[0] = InFlight;
            BinaryPrimitives.WriteInt64LittleEndian(input[1..], DateTime.UtcNow.Ticks + s_lease);
            fingerprint.CopyTo(input[9..]);
            owner.CopyTo(input[(9 + FingerprintLength)..]);
            fixed (byte* k = key)
            fixed (byte* i = input)
            {
                var keySpan = SpanByte.FromPointer(k, key.Length);
                var inputSpan = SpanByte.FromPointer(i, input.Length);
                var output = default(Output);
                var status = _claims.RMW(ref keySpan, ref inputSpan, ref output);
                if (status.IsPending)
                {
                    throw new InvalidOperationException("A claim went to the device: the log dropped records it held.");
                }

                payload = output.Payload;
                return output.Outcome;
            }
        }

        private unsafe Outcome Complete(byte[] key, ReadOnlySpan<byte> owner, ReadOnlySpan<byte> fingerprint, ReadOnlySpan<byte> payload)
        {
            // The input: the owner that must hold the claim, then the completed value.
            Span<byte> input = stackalloc byte[OwnerLength + 1 + 8 + FingerprintLength + payload.Length];
            owner.CopyTo(input);
            var value = input[OwnerLength..];
            value[0] = Completed;
            BinaryPrimitives.WriteInt64LittleEndian(value[1..], DateTime.UtcNow.Ticks + s_retention);
            fingerprint.CopyTo(value[9..]);
            payload.CopyTo(value[(9 + FingerprintLength)..]);
            fixed (byte* k = key)
            fixed (byte* i = input)
            {
                var keySpan = SpanByte.FromPointer(k, key.Length);
                var inputSpan = SpanByte.FromPointer(i, input.Length);
                var output = default(Output);
                var status = _completions.RMW(ref keySpan, ref inputSpan, ref output);
                if (status.IsPending)
                {
                    throw new InvalidOperationException("A completion went to the device: the log dropped records it held.");
                }

                return output.Outcome;
            }
        }

        private unsafe void Delete(byte[] key)
        {
            fixed (byte* k = key)
            {
                var keySpan = SpanByte.FromPointer(k, key.Length);
                _claims.Delete(ref keySpan);
            }
        }

        private void CompactIfNeeded()
        {
            // Past the threshold: compact the log's oldest quarter, at most 64 MiB at a time (so that its cost spreads
            // evenly over the new keys), and only the part that may be compacted (read-only), at least 1 MiB of it.
            var log = _kv.Log;
            var span = log.TailAddress - log.BeginAddress;
            if (span <= _compactionThreshold)
            {
                return;
            }

            var until = Math.Min(log.BeginAddress + Math.Min(span / 4, 64L << 20), log.SafeReadOnlyAddress);
            if (until - log.BeginAddress < 1L << 20)
            {
                return;
            }

            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var (begin, tail) = (log.BeginAddress, log.TailAddress);
            _claims.Compact(until, CompactionType.Lookup, new ExpiredRecords(DateTime.UtcNow.Ticks));
            CompactionCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
            CompactedBytes += until - begin;
            CompactionCopiedBytes += log.TailAddress - tail;
            Compactions++;
        }

        private static byte[] HeldKey(int i) =>
            Encoding.UTF8.GetBytes(IdempotencyStorageKey.Create(Scope, i.ToString("x8", CultureInfo.InvariantCulture) + "-9c1e-4b7a-8f3d-2a6b5c4d3e2f0a1b2c"));

        private static byte[] NewKeyBytes(long n) =>
            Encoding.UTF8.GetBytes(IdempotencyStorageKey.Create(Scope, "new-" + n.ToString(CultureInfo.InvariantCulture) + "-5d0b6a7e3c2f4e1a9b8c7d6e5f4a3b2c"));

        private static long RoundUp8(long n) => (n + 7) & ~7L;

        public void Dispose()
        {
            _claims.Dispose();
            _completions.Dispose();
            _kv.Dispose();
        }
    }

    /// <summary>A claim: an absent key gets the in-flight value (the input); a present one is reported, never changed.</summary>
    private sealed class ClaimFunctions : FunctionsBase<SpanByte, SpanByte, SpanByte, Output, Empty>
    {
        public override bool InitialUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref Output output, ref RMWInfo rmwInfo)
        {
            input.CopyTo(ref value);
            output.Outcome = Outcome.Claimed;
            return true;
        }

        public override bool InPlaceUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref Output output, ref RMWInfo rmwInfo)
        {
            Report(ref input, ref value, ref output);
            return true;
        }

        // A record in the log's read-only part: reported, not copied.
        public override bool NeedCopyUpdate(ref SpanByte key, ref SpanByte input, ref SpanByte oldValue, ref Output output, ref RMWInfo rmwInfo)
        {
            Report(ref input, ref oldValue, ref output);
            return false;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Report(ref SpanByte input, ref SpanByte value, ref Output output)
        {
            var stored = value.AsReadOnlySpan();
            if (stored[0] == InFlight)
            {
                output.Outcome = Outcome.InFlight;
            }
            else if (!stored.Slice(9, FingerprintLength).SequenceEqual(input.AsReadOnlySpan().Slice(9, FingerprintLength)))
            {
                output.Outcome = Outcome.FingerprintMismatch;
            }
            else
            {
                output.Outcome = Outcome.Replayed;
                output.Payload = stored[(9 + FingerprintLength)..].ToArray(); // the caller's own copy, as the store gives
            }
        }
    }

    /// <summary>A completion fenced by the owner token: the in-flight value becomes the completed one (longer, so copied).</summary>
    private sealed class CompleteFunctions : FunctionsBase<SpanByte, SpanByte, SpanByte, Output, Empty>
    {
        public override bool NeedInitialUpdate(ref SpanByte key, ref SpanByte input, ref Output output, ref RMWInfo rmwInfo)
        {
            output.Outcome = Outcome.NotOwner; // the claim is gone
            return false;
        }

        public override bool InPlaceUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref Output output, ref RMWInfo rmwInfo)
        {
            if (!Owns(ref input, ref value))
            {
                output.Outcome = Outcome.NotOwner;
                return true;
            }

            var completed = input.AsReadOnlySpan()[OwnerLength..];
            if (completed.Length > value.Length)
            {
                return false; // does not fit: copied to the tail by CopyUpdater
            }

            completed.CopyTo(value.AsSpan());
            value.ShrinkSerializedLength(completed.Length);
            output.Outcome = Outcome.CompletedNow;
            return true;
        }

        public override bool NeedCopyUpdate(ref SpanByte key, ref SpanByte input, ref SpanByte oldValue, ref Output output, ref RMWInfo rmwInfo)
        {
            if (Owns(ref input, ref oldValue))
            {
                return true;
            }

            output.Outcome = Outcome.NotOwner;
            return false;
        }

        public override bool CopyUpdater(ref SpanByte key, ref SpanByte input, ref SpanByte oldValue, ref SpanByte newValue, ref Output output, ref RMWInfo rmwInfo)
        {
            input.AsReadOnlySpan()[OwnerLength..].CopyTo(newValue.AsSpan());
            output.Outcome = Outcome.CompletedNow;
            return true;
        }

        private static bool Owns(ref SpanByte input, ref SpanByte value)
        {
            var stored = value.AsReadOnlySpan();
            return stored[0] == InFlight && stored[(9 + FingerprintLength)..].SequenceEqual(input.AsReadOnlySpan()[..OwnerLength]);
        }
    }

    /// <summary>A claim's value is its input.</summary>
    private sealed class ClaimLength : IVariableLengthStruct<SpanByte, SpanByte>
    {
        public int GetInitialLength(ref SpanByte input) => sizeof(int) + input.Length;

        public int GetLength(ref SpanByte t, ref SpanByte input) => sizeof(int) + t.Length;
    }

    /// <summary>A completion's value is its input without the owner token.</summary>
    private sealed class CompletionLength : IVariableLengthStruct<SpanByte, SpanByte>
    {
        public int GetInitialLength(ref SpanByte input) => sizeof(int) + input.Length - OwnerLength;

        public int GetLength(ref SpanByte t, ref SpanByte input) => sizeof(int) + input.Length - OwnerLength;
    }

    /// <summary>Expiry at compaction: a record past its expiry is not copied.</summary>
    private readonly struct ExpiredRecords(long now) : ICompactionFunctions<SpanByte, SpanByte>
    {
        public bool IsDeleted(ref SpanByte key, ref SpanByte value) =>
            BinaryPrimitives.ReadInt64LittleEndian(value.AsReadOnlySpan()[1..]) < now;
    }
}
