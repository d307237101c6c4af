using Microsoft.Extensions.Options;

namespace Idempotency.Redis;

/// <summary>Validates <see cref="RedisConditionalWriteOptions"/> at start-up (source-generated from its attributes).</summary>
[OptionsValidator]
internal sealed partial class RedisConditionalWriteOptionsValidator : IValidateOptions<RedisConditionalWriteOptions>;
