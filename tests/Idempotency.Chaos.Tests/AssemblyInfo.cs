// Chaos tests load the machine on purpose (2 cores in CI): they run one at a time, never beside each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
