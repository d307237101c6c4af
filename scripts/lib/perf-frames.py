#!/usr/bin/env python3
"""Summarises `perf script -F ip,sym,dso` output of the benchmark server into microseconds of samples per request.

    perf-frames.py <perf script output> <requests in the recorded window> <sampling frequency> [frame substring ...]

Prints: all samples per request, split by where the sampled instruction was (kernel, JIT-compiled code, a native
library); for each frame substring given, the samples with that frame anywhere on the stack (inclusive); and the
library's own work: samples with an Idempotency frame on the stack and no endpoint below it (the handler's work
excluded), by the innermost Idempotency frame. Used by scripts/profile-server.sh.
"""
import collections
import re
import sys


def stacks(path):
    stack = []
    with open(path, errors="replace") as lines:
        for line in lines:
            if not line.strip():
                if stack:
                    yield stack
                stack = []
                continue
            frame = re.match(r"\s+[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$", line)
            if frame:
                stack.append((frame.group(1), frame.group(2)))
    if stack:
        yield stack


def short(symbol):
    symbol = re.sub(r"\(.*", "", symbol)
    symbol = re.sub(r"\[[^\]]*\]", "", symbol)
    return symbol.split(" ")[-1][-110:]


def where(dso):
    if "kernel" in dso:
        return "kernel"
    if "perf-" in dso:
        return "JIT-compiled code"
    return dso.split("/")[-1]


def main():
    path, requests, frequency = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    frames = sys.argv[4:]
    per_request = lambda samples: samples / frequency * 1e6 / requests
    total = 0
    by_place = collections.Counter()
    inclusive = collections.Counter()
    own = collections.Counter()
    for stack in stacks(path):
        total += 1
        by_place[where(stack[0][1])] += 1
        symbols = [symbol for symbol, _ in stack]
        for frame in frames:
            if any(frame in symbol for symbol in symbols):
                inclusive[frame] += 1
        library = [s for s in symbols if "Idempotency." in s and "Idempotency.Benchmarks" not in s]
        if library and not any("EndpointMiddleware::Invoke" in s for s in symbols):
            own[short(library[0])] += 1

    print(f"all samples: {per_request(total):.2f} us per request")
    for place, samples in by_place.most_common(8):
        print(f"  {place:<40} {per_request(samples):6.2f}")
    for frame in frames:
        print(f"inclusive {frame:<50} {per_request(inclusive[frame]):6.2f}")
    print(f"the library's own work (handler excluded): {per_request(sum(own.values())):.2f} us per request, by innermost frame")
    for frame, samples in own.most_common(25):
        print(f"  {per_request(samples):6.3f}  {frame}")


if __name__ == "__main__":
    main()
