using System.Globalization;
using Siov.Fast.Load;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
return LoadCommand.Run(args, Console.Error);
