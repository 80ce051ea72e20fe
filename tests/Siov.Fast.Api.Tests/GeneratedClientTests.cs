using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NSwag;
using NSwag.CodeGeneration.CSharp;

namespace Siov.Fast.Api.Tests;

/// <summary>
/// A client generated from the live document works: NSwag generates a C# client from <c>GET /openapi/v1.json</c>
/// in-process, Roslyn compiles it in memory, and a short seed-002 session runs through it against the test host
/// (aux on 01:00.0, an mdev, a container with the mdev's group, a DMA mapping, translations that hit and fault).
/// A document whose schemas lie (a required field absent from an answer, a null where none is allowed, an untyped
/// body) breaks the generated client's deserialization here.
/// </summary>
public sealed class GeneratedClientTests : ApiTestHost
{
    private const ulong Vm1Memory = 0x40_0000_0000;

    /// <summary>Generation, compilation and the session take a few seconds; more is a hang.</summary>
    private static readonly TimeSpan TimeCap = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task GeneratedClient_Compiles_AndRunsSeed002()
    {
        var clock = Stopwatch.StartNew();
        string json = await Client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        OpenApiDocument document = await OpenApiDocument.FromJsonAsync(json);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = "SiovClient",
            GenerateClientInterfaces = false,
            UseBaseUrl = true,
            GenerateOptionalParameters = true,
            OperationNameGenerator = new NSwag.CodeGeneration.OperationNameGenerators.SingleClientFromOperationIdOperationNameGenerator(),
        };
        settings.CSharpGeneratorSettings.Namespace = "Siov.Generated";
        settings.CSharpGeneratorSettings.JsonLibrary = NJsonSchema.CodeGeneration.CSharp.CSharpJsonLibrary.SystemTextJson;
        settings.CSharpGeneratorSettings.GenerateOptionalPropertiesAsNullable = true;
        settings.CSharpGeneratorSettings.GenerateNullableReferenceTypes = true;
        string code = new CSharpClientGenerator(document, settings).GenerateFile();

        Assembly generated = Compile(code);
        Type clientType = generated.GetType("Siov.Generated.SiovClient", throwOnError: true)!;
        dynamic client = Activator.CreateInstance(clientType, Client)!;
        client.BaseUrl = Client.BaseAddress!.ToString();
        await RunSeed002Async(client, generated).WaitAsync(TimeCap - clock.Elapsed);
        Assert.True(clock.Elapsed < TimeCap, $"took {clock.Elapsed}");
    }

    private static async Task RunSeed002Async(dynamic client, Assembly generated)
    {
        dynamic New(string type) => Activator.CreateInstance(generated.GetType("Siov.Generated." + type, throwOnError: true)!)!;

        dynamic aux = await client.EnableAuxFeatureAsync("01:00.0");
        Assert.True((bool)aux.Enabled);

        dynamic mdevRequest = New("CreateMdevRequest");
        mdevRequest.Parent = "01:00.0";
        mdevRequest.Type = "idxd-wq";
        dynamic mdev = await client.CreateMdevAsync(mdevRequest);
        int group = (int)mdev.Group;

        dynamic container = await client.CreateContainerAsync();
        int id = (int)container.Id;
        dynamic attach = New("ContainerGroupRequest");
        attach.Group = group;
        dynamic attached = await client.ContainerAttachGroupAsync(id, attach);
        int domain = Assert.Single((IEnumerable<int>)attached.Domains);

        dynamic map = New("MapRequest");
        map.Iova = "0x0";
        map.Hpa = $"0x{Vm1Memory:x}";
        map.Size = "0x4000000";
        dynamic mapping = await client.ContainerMapDmaAsync(id, map);
        Assert.Equal("0x4000000", (string)mapping.Size);

        // The mdev's aux domain is at a PASID of its parent.
        dynamic parent = await client.GetDeviceAsync("01:00.0");
        uint pasid = 0;
        foreach (dynamic p in parent.Pasids)
        {
            if ((int)p.Domain == domain)
                pasid = (uint)p.Pasid;
        }
        Assert.NotEqual(0u, pasid);

        Type access = generated.GetType("Siov.Generated.Access", throwOnError: true)!; // the document's enum, as a C# enum
        dynamic hit = await client.TranslateAsync("01:00.0", "0x12345", (int)pasid, (dynamic)Enum.Parse(access, "write", ignoreCase: true));
        Assert.True((bool)hit.Ok);
        Assert.Equal($"0x{Vm1Memory + 0x12345:x}", (string)hit.Hpa);
        dynamic fault = await client.TranslateAsync("01:00.0", "0x12345", (int)pasid + 1, (dynamic)Enum.Parse(access, "read", ignoreCase: true));
        Assert.False((bool)fault.Ok);
        Assert.Null((string?)fault.Hpa);
        Assert.Equal("0x59", (string)fault.Fault.Code);

        // An error surfaces as the client's exception, with the problem body's status.
        Exception error = await Assert.ThrowsAnyAsync<Exception>(async () => await client.GetDomainAsync(999999));
        Assert.Equal(404, (int)((dynamic)error).StatusCode);
    }

    private static Assembly Compile(string code)
    {
        string[] platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        MetadataReference[] references = [.. platform.Select(p => MetadataReference.CreateFromFile(p))];
        CSharpCompilation compilation = CSharpCompilation.Create("Siov.Generated." + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest))], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        Microsoft.CodeAnalysis.Emit.EmitResult result = compilation.Emit(image);
        Diagnostic[] errors = [.. result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)];
        Assert.True(result.Success, "the generated client does not compile:\n" + string.Join("\n", errors.Take(20)));
        image.Position = 0;
        return new AssemblyLoadContext("generated-client", isCollectible: true).LoadFromStream(image);
    }
}
