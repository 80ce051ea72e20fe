namespace Siov.Fast.Api.Infrastructure.Wire;

internal sealed record DirtyBitmapDto(string[] Bitmap, string[] DirtyPages);
