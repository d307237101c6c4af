using Microsoft.Extensions.Options;

namespace Idempotency;

/// <summary>Validates <see cref="IdempotentExecutorOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class IdempotentExecutorOptionsValidator : IValidateOptions<IdempotentExecutorOptions>;

/// <summary>Validates <see cref="InMemoryIdempotencyStoreOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class InMemoryIdempotencyStoreOptionsValidator : IValidateOptions<InMemoryIdempotencyStoreOptions>;

/// <summary>Validates <see cref="IdempotencyEngineOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class IdempotencyEngineOptionsValidator : IValidateOptions<IdempotencyEngineOptions>;
