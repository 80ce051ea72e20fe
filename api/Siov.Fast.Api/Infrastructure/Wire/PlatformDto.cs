namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record PlatformDto(string Name, string Description, ulong MemoryBytes, int FreeFrames, UnitDto[] Units);
