namespace Idempotency;

/// <summary>Creates the unguessable owner tokens that fence claims.</summary>
internal static class OwnerTokens
{
    // A random (version 4) GUID: 122 random bits, 32 hex characters.
    public static string Create() => Guid.NewGuid().ToString("N");
}
