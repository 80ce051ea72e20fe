using System.Net;

namespace Siov.Fast.Api.Tests;

/// <summary>The OpenAPI document is built per request: many at once must all succeed (its schema transformers share no
/// unsynchronized state).</summary>
public sealed class OpenApiConcurrencyTests : ApiTestHost
{
    [Fact]
    public async Task ManyDocumentsAtOnce_AllSucceed()
    {
        for (int round = 0; round < 5; round++)
        {
            HttpResponseMessage[] answers = await Task.WhenAll(Enumerable.Range(0, 8)
                .Select(_ => Task.Run(() => Client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative)))));
            Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
            foreach (HttpResponseMessage a in answers)
                a.Dispose();
        }
    }
}
