using Idempotency.AspNetCore.Deduplication;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Idempotency.AspNetCore.Mirroring;

/// <summary>The rules behind <see cref="MirrorSafety"/>, shared by the guard, the report and the public API.</summary>
internal static class MirrorSafetyClassifier
{
    public static MirrorClassification Classify(HttpContext context, string idempotencyKeyHeader)
    {
        var request = context.Request;
        var facts = new RequestFacts(
            HasIdempotencyKey: request.Headers.ContainsKey(idempotencyKeyHeader),
            HasPrecondition: PreconditionRequirement.IsPresent(request),
            IsUpgrade: IsUpgrade(context));
        return Classify(context.GetEndpoint()?.Metadata, request.Method, facts);
    }

    /// <summary>
    /// Classifies <paramref name="method"/> on an endpoint with <paramref name="metadata"/>. With
    /// <paramref name="facts"/> the request's headers decide the conditional classes; without, the endpoint-level class
    /// is returned with the condition under which it holds.
    /// </summary>
    public static MirrorClassification Classify(EndpointMetadataCollection? metadata, string method, RequestFacts? facts)
    {
        // A tunnel or an upgraded connection cannot be replayed, whatever the endpoint declares.
        if (HttpMethods.IsConnect(method))
        {
            return new(MirrorSafetyClass.Unsafe, MirrorSafetyReason.Connect);
        }

        if (facts is { IsUpgrade: true })
        {
            return new(MirrorSafetyClass.Unsafe, MirrorSafetyReason.Upgrade);
        }

        // Endpoint metadata overrides method semantics.
        switch (MostCautiousDeclaration(metadata))
        {
            case MirrorSafetyDeclaration.NotMirrorSafe:
                return new(MirrorSafetyClass.Unsafe, MirrorSafetyReason.MarkedNotMirrorSafe);
            case MirrorSafetyDeclaration.MirrorSafe:
                return new(MirrorSafetyClass.Safe, MirrorSafetyReason.MarkedMirrorSafe);
            case MirrorSafetyDeclaration.IdempotentByDesign:
                return new(MirrorSafetyClass.Idempotent, MirrorSafetyReason.MarkedIdempotent);
        }

        var anyMethod = method == MirrorSafety.AnyMethod;
        if (!anyMethod && HttpMethodSemantics.IsSafe(method))
        {
            return new(MirrorSafetyClass.Safe, MirrorSafetyReason.SafeMethod);
        }

        // Without a key or a precondition the endpoint's protection does not apply, and the method decides.
        var unsafeReason = anyMethod ? MirrorSafetyReason.AnyMethod : MirrorSafetyReason.UnsafeMethod;
        switch ((metadata is null ? null : IdempotencyDeclarations.Nearest(metadata))?.Requirement)
        {
            case IdempotencyRequirement.Required when facts is null:
                return new(MirrorSafetyClass.Deduplicated, MirrorSafetyReason.IdempotencyKeyRequired, MirrorRequestCondition.IdempotencyKey);
            case IdempotencyRequirement.Required when facts.Value.HasIdempotencyKey:
                return new(MirrorSafetyClass.Deduplicated, MirrorSafetyReason.IdempotencyKeyRequired);
            case IdempotencyRequirement.Required:
                unsafeReason = MirrorSafetyReason.IdempotencyKeyMissing;
                break;
            case IdempotencyRequirement.Optional when facts is { HasIdempotencyKey: true }:
                return new(MirrorSafetyClass.Deduplicated, MirrorSafetyReason.IdempotencyKeySent);
        }

        if (metadata is not null && PreconditionRequirement.IsRequired(metadata))
        {
            if (facts is null)
            {
                return new(MirrorSafetyClass.Conditional, MirrorSafetyReason.PreconditionRequired, MirrorRequestCondition.Precondition);
            }

            if (facts.Value.HasPrecondition)
            {
                return new(MirrorSafetyClass.Conditional, MirrorSafetyReason.PreconditionRequired);
            }

            if (unsafeReason != MirrorSafetyReason.IdempotencyKeyMissing)
            {
                unsafeReason = MirrorSafetyReason.PreconditionMissing;
            }
        }

        if (!anyMethod && (HttpMethods.IsPut(method) || HttpMethods.IsDelete(method)))
        {
            return new(MirrorSafetyClass.Idempotent, MirrorSafetyReason.IdempotentMethod);
        }

        return new(MirrorSafetyClass.Unsafe, unsafeReason);
    }

    private static bool IsUpgrade(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true
        || context.Request.Headers.Upgrade.Count > 0;

    /// <summary>What the request carries that can change its class.</summary>
    internal readonly record struct RequestFacts(bool HasIdempotencyKey, bool HasPrecondition, bool IsUpgrade);

    /// <summary>
    /// The most cautious of the endpoint's declarations: <see cref="MirrorSafetyDeclaration.NotMirrorSafe"/>, then
    /// <see cref="MirrorSafetyDeclaration.IdempotentByDesign"/>, then <see cref="MirrorSafetyDeclaration.MirrorSafe"/>.
    /// Not the last one added: the order is not a reliable guide to which is nearest (MVC adds <c>MapControllers()</c>'s
    /// conventions after an action's attributes, so a controller-wide <c>.MirrorSafe()</c> would override an action's
    /// <c>[NotMirrorSafe]</c>), and a wrong Safe applies an effect twice where a wrong Unsafe only keeps a copy from the canary.
    /// </summary>
    private static MirrorSafetyDeclaration? MostCautiousDeclaration(EndpointMetadataCollection? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        MirrorSafetyDeclaration? mostCautious = null;
        foreach (var declared in metadata.GetOrderedMetadata<IMirrorSafetyMetadata>())
        {
            if (mostCautious is null || Caution(declared.Declaration) > Caution(mostCautious.Value))
            {
                mostCautious = declared.Declaration;
            }
        }

        return mostCautious;

        static int Caution(MirrorSafetyDeclaration declaration) => declaration switch
        {
            MirrorSafetyDeclaration.MirrorSafe => 0,
            MirrorSafetyDeclaration.IdempotentByDesign => 1,
            _ => 2, // NotMirrorSafe, and any value this version does not know
        };
    }
}
