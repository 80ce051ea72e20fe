using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Siov.Fast.Api.Infrastructure;

namespace Siov.Fast.Api.Durability;

/// <summary>
/// Makes a mutating endpoint durable: under the control lock, its bound arguments are appended to the
/// <see cref="StateJournal"/> (committed) before the handler runs, and the handler's outcome is noted for the next
/// record. A journal that cannot be written answers 507 (ENOSPC or EIO) and the handler does not run.
/// </summary>
internal static class Journaling
{
    /// <summary>Journals every call of the endpoint; <paramref name="normalize"/> may first fix arguments the handler
    /// would otherwise choose at random (an mdev's UUID), so that the replay makes the same choice.</summary>
    public static TBuilder WithJournal<TBuilder>(this TBuilder builder, Action<IList<object?>>? normalize = null)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint => endpoint.Metadata.Add(JournalMetadata.Journaled));
        return builder.AddEndpointFilter(async (invocation, next) =>
        {
            PlatformState state = invocation.HttpContext.RequestServices.GetRequiredService<PlatformState>();
            if (state.Journal == null)
                return await next(invocation).ConfigureAwait(false);
            normalize?.Invoke(invocation.Arguments);
            string operation = invocation.HttpContext.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName
                ?? throw new InvalidOperationException("a journalled endpoint needs a name (WithName)");
            JsonSerializerOptions json = invocation.HttpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            byte[] arguments = SerializeArguments(invocation.Arguments, json);
            return await state.RunJournaledAsync(operation, arguments, () => next(invocation)).ConfigureAwait(false);
        });
    }

    /// <summary>Marks an endpoint that mutates nothing durable (draining the fault log), for the test that checks every
    /// mutating endpoint is journalled or exempt on purpose.</summary>
    public static TBuilder NotJournaled<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint => endpoint.Metadata.Add(JournalMetadata.Exempt));
        return builder;
    }

    /// <summary>Appends a call, runs it and notes its outcome. The caller holds the control lock.</summary>
    /// <exception cref="ProblemException">507 ENOSPC or EIO when the journal cannot be written; <paramref name="apply"/> did not run.</exception>
    public static async ValueTask<T> RunJournaledAsync<T>(this PlatformState state, string operation, byte[] arguments, Func<ValueTask<T>> apply)
    {
        StateJournal? journal = state.Journal;
        if (journal == null)
            return await apply().ConfigureAwait(false);
        try
        {
            journal.Append(operation, arguments);
        }
        catch (StateException e)
        {
            throw new ProblemException(e.Code, StatusCodes.Status507InsufficientStorage, $"{e.Code}: {e.Message}");
        }
        bool succeeded = false;
        try
        {
            T result = await apply().ConfigureAwait(false);
            succeeded = Succeeded(result);
            return result;
        }
        finally
        {
            journal.SetOutcome(succeeded);
        }
    }

    /// <summary>The synchronous form of <see cref="RunJournaledAsync{T}"/>, for a handler that journals a call itself
    /// (a batch whose body it parsed).</summary>
    public static T RunJournaled<T>(this PlatformState state, string operation, Func<byte[]> arguments, Func<T> apply) =>
        state.Journal == null ? apply()
            : state.RunJournaledAsync(operation, arguments(), () => ValueTask.FromResult(apply())).AsTask().GetAwaiter().GetResult();

    /// <summary>Whether a handler's answer is a success (no problem status in it, however nested).</summary>
    public static bool Succeeded(object? result)
    {
        while (result is INestedHttpResult nested)
            result = nested.Result;
        return result is not IStatusCodeHttpResult { StatusCode: >= 400 };
    }

    /// <summary>The bound arguments as a JSON array; services and the HTTP objects are written as null.</summary>
    private static byte[] SerializeArguments(IList<object?> arguments, JsonSerializerOptions json)
    {
        var values = new object?[arguments.Count];
        for (int i = 0; i < arguments.Count; i++)
        {
            object? argument = arguments[i];
            values[i] = argument is PlatformState or HttpContext or HttpRequest or HttpResponse or CancellationToken ? null : argument;
        }
        return JsonSerializer.SerializeToUtf8Bytes(values, json);
    }
}
