
namespace Siov.Fast.Api.Tests;

/// <summary>Tests that run with no other test class alongside them (the kill -9 loop: 51 server starts and kills,
/// whose windows a fully loaded two-core machine would squeeze).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "serial";
}
