using BenchmarkDotNet.Running;

// Run all:   dotnet run -c Release --project bench/Siov.Fast.Bench -- --filter '*'
// Run some:  dotnet run -c Release --project bench/Siov.Fast.Bench -- --filter '*Walk*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
