namespace BankLedger.Queue;

/// <summary>One row of the queue as a worker took it.</summary>
/// <param name="Id">The row's id: one delivery of a message (a producer that sends a message twice makes two rows).</param>
/// <param name="MessageId">The message's id, set by the producer: the idempotency key of the command.</param>
/// <param name="Payload">The command's bytes, as the producer wrote them.</param>
/// <param name="Attempts">How many times a worker has taken this row, this time included; more than 1 is a redelivery.</param>
public sealed record QueuedCommand(long Id, string MessageId, byte[] Payload, int Attempts);
