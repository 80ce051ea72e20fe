namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record MdevTypeDto(string Parent, string Id, string Name, string Description, string DeviceApi, int AvailableInstances,
    int MaxInstances, bool IommuBacked);
