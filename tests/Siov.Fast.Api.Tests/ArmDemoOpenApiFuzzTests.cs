using Xunit.Abstractions;

namespace Siov.Fast.Api.Tests;

/// <summary>The OpenAPI fuzz run (<see cref="OpenApiFuzzRun"/>) on the Arm platform (<c>--platform arm-demo</c>: one
/// SMMUv3 under arm-smmu-v3, seed 004's rules): hostile requests against SMMU-backed objects keep the error contract.</summary>
/// <param name="output">The test's output.</param>
public sealed class ArmDemoOpenApiFuzzTests(ITestOutputHelper output) : OpenApiFuzzRun(output, 2, ("Siov:Platform", "arm-demo"));
