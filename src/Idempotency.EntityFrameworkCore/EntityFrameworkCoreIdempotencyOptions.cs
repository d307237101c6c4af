namespace Idempotency.EntityFrameworkCore;

/// <summary>Options of the EF Core unit of work, set by <c>AddIdempotency().UseEntityFrameworkCore&lt;TContext&gt;(options => ...)</c>.</summary>
public sealed class EntityFrameworkCoreIdempotencyOptions
{
    /// <summary>
    /// Gets or sets whether the host checks at start-up that the context's provider is supported and that its model maps
    /// the records table (<c>modelBuilder.AddIdempotencyRecords()</c>), failing with a message that says what to change.
    /// The check resolves one context and touches no database.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool VerifyContextOnStartup { get; set; } = EntityFrameworkCoreIdempotencyDefaults.VerifyContextOnStartup;
}

/// <summary>The defaults of <see cref="EntityFrameworkCoreIdempotencyOptions"/>, in one place.</summary>
internal static class EntityFrameworkCoreIdempotencyDefaults
{
    public const bool VerifyContextOnStartup = true;
}
