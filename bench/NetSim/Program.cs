using System.Globalization;
using Demikernel.NetSim;

// dotnet run -c Release --project bench/NetSim -- --connections 8 --bytes 50000000 --loss 0.05 --reorder 0.05 \
//     --duplicate 0.01 --corrupt 0.001 --bandwidth 1gbit --latency 50us --seed 1
NetSimOptions options;
try
{
    options = NetSimOptions.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"netsim: {e.Message}");
    Console.Error.WriteLine(NetSimOptions.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(NetSimOptions.Usage);
    return 0;
}

var result = NetSimRunner.Run(options);
Console.WriteLine(result.Report(options));
return result.Ok ? 0 : 1;
