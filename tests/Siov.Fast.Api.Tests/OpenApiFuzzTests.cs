using Xunit.Abstractions;

namespace Siov.Fast.Api.Tests;

/// <summary>The OpenAPI fuzz run (<see cref="OpenApiFuzzRun"/>) on the embedded default platform (two VT-d units).</summary>
/// <param name="output">The test's output.</param>
public sealed class OpenApiFuzzTests(ITestOutputHelper output) : OpenApiFuzzRun(output, nicGroup: 4);
