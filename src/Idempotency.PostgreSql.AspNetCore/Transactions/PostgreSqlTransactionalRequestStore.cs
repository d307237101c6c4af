using System.Data;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Idempotency.PostgreSql;

/// <summary>
/// The store of one request in PostgreSQL transactional mode: the store's unit of work, attached to the request's
/// <see cref="PostgreSqlIdempotentTransaction"/> and, once the key is claimed, set as the request's
/// <see cref="IPostgreSqlTransactionFeature"/>. Everything else, the lock, the claim, the commit and the rollback, is the
/// unit of work's.
/// </summary>
internal sealed class PostgreSqlTransactionalRequestStore : IIdempotencyUnitOfWorkStore, IPostgreSqlTransactionFeature
{
    private readonly HttpContext _context;
    private readonly PostgreSqlIdempotencyUnitOfWork _unitOfWork;

    private PostgreSqlTransactionalRequestStore(HttpContext context, PostgreSqlIdempotencyUnitOfWork unitOfWork)
    {
        _context = context;
        _unitOfWork = unitOfWork;
    }

    public string Name => _unitOfWork.Name;

    public NpgsqlConnection Connection => _unitOfWork.Connection;

    public NpgsqlTransaction Transaction => _unitOfWork.Transaction;

    public static async ValueTask<IIdempotencyUnitOfWorkStore> BeginAsync(HttpContext context, IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        var factory = services.GetService<PostgreSqlIdempotencyUnitOfWorkFactory>()
            ?? throw new InvalidOperationException(
                "The endpoint runs in PostgreSQL transactional mode, but the PostgreSQL store is not registered. " +
                "Call services.AddIdempotency().AddPostgreSqlStore(...) with the database that holds the endpoint's tables.");
        var unitOfWork = await factory.BeginAsync(isolationLevel, cancellationToken);
        try
        {
            services.GetRequiredService<PostgreSqlIdempotentTransaction>().Attach(unitOfWork);
        }
        catch
        {
            await unitOfWork.DisposeAsync();
            throw;
        }

        return new PostgreSqlTransactionalRequestStore(context, unitOfWork);
    }

    public async ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var claim = await _unitOfWork.ClaimAsync(request, cancellationToken);
        if (claim.Status == ClaimStatus.Claimed)
        {
            _context.Features.Set<IPostgreSqlTransactionFeature>(this);
        }

        return claim;
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken) =>
        _unitOfWork.CompleteAsync(request, cancellationToken);

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
        _unitOfWork.ReleaseAsync(key, ownerToken, cancellationToken);

    public ValueTask<bool> TryRollBackAsync(string key, string ownerToken, CancellationToken cancellationToken) =>
        _unitOfWork.TryRollBackAsync(key, ownerToken, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _context.Features.Set<IPostgreSqlTransactionFeature>(null);
        return _unitOfWork.DisposeAsync();
    }
}
