using System.Text;

namespace Idempotency;

/// <summary>
/// Describes a store fault for a log line above Debug: each exception's type and message down the inner chain, with
/// the storage key (which holds the caller's scope, a user id) cut out. Store clients put the key they were sending
/// into their messages (StackExchange.Redis does so for timeouts); the full exception goes to Debug only.
/// </summary>
internal static class StoreFaultDescription
{
    public const string StorageKeyPlaceholder = "[storage key]";

    public static string Describe(Exception exception, string storageKey)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = new StringBuilder();
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (text.Length > 0)
            {
                text.Append(" ---> ");
            }

            text.Append(current.GetType().Name).Append(": ").Append(current.Message);
        }

        return storageKey.Length == 0 ? text.ToString() : text.Replace(storageKey, StorageKeyPlaceholder).ToString();
    }
}
