using Siov.Fast.Cli;

return SiovCommand.Run(args, Console.Out, Console.Error);
