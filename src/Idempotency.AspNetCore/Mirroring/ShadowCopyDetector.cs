using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>Recognises mirrored copies from the marker header and the Envoy <c>-shadow</c> host suffix, as configured.</summary>
internal sealed class ShadowCopyDetector
{
    private readonly string _headerName;
    private readonly byte[]? _secretHash;
    private readonly string[] _shadowHosts;
    private readonly bool _acceptAnyShadowHost;

    public ShadowCopyDetector(MirroringOptions options)
    {
        _headerName = options.HeaderName;
        _secretHash = options.Secret is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Secret));
        _shadowHosts = [.. options.ShadowHosts];
        _acceptAnyShadowHost = options.AcceptAnyShadowHost;
    }

    public string HeaderName => _headerName;

    public bool DetectsHosts => _acceptAnyShadowHost || _shadowHosts.Length > 0;

    public MarkerStatus CheckMarker(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(_headerName, out var values))
        {
            return MarkerStatus.Absent;
        }

        if (_secretHash is null)
        {
            return MarkerStatus.Valid;
        }

        return values.Count == 1 && SecretMatches(values[0]) ? MarkerStatus.Valid : MarkerStatus.Invalid;
    }

    public bool IsShadowHost(string? host)
    {
        if (!DetectsHosts || !TryGetShadowBaseHost(host, out var baseHost))
        {
            return false;
        }

        if (_acceptAnyShadowHost)
        {
            return true;
        }

        foreach (var configured in _shadowHosts)
        {
            if (SameService(baseHost, configured))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Finds the host Envoy shadowed: <c>orders-shadow:8080</c> gives <c>orders</c>. The suffix must end the host part,
    /// before an all-digit port; anything else (<c>orders:8080-shadow</c>, <c>[::1]-shadow</c>) is not a shadow host.
    /// </summary>
    internal static bool TryGetShadowBaseHost(string? hostHeader, out ReadOnlySpan<char> baseHost)
    {
        baseHost = default;
        if (string.IsNullOrEmpty(hostHeader) || hostHeader[0] == '[')
        {
            // An IPv6 literal never ends in "-shadow".
            return false;
        }

        var host = hostHeader.AsSpan();
        var colon = host.LastIndexOf(':');
        if (colon >= 0)
        {
            var port = host[(colon + 1)..];
            if (port.Length == 0 || port.ContainsAnyExceptInRange('0', '9'))
            {
                return false;
            }

            host = host[..colon];
        }

        var suffix = MirroringDefaults.ShadowHostSuffix.AsSpan();
        if (host.Length <= suffix.Length || !host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        baseHost = host[..^suffix.Length];
        return true;
    }

    /// <summary>Whether two host names name the same service: equal, or one is the other plus more DNS labels.</summary>
    private static bool SameService(ReadOnlySpan<char> a, string b) =>
        a.Equals(b, StringComparison.OrdinalIgnoreCase) || IsLabelPrefix(a, b) || IsLabelPrefix(b, a);

    private static bool IsLabelPrefix(ReadOnlySpan<char> prefix, ReadOnlySpan<char> name) =>
        name.Length > prefix.Length && name[prefix.Length] == '.' && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    private bool SecretMatches(string? value)
    {
        // Hashing first makes the comparison constant-time in the length of the value too.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(value ?? string.Empty), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _secretHash);
    }

    internal enum MarkerStatus
    {
        Absent,
        Valid,
        Invalid,
    }
}
