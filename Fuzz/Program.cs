using System.Diagnostics;
using OrleansMqtt.Fuzz;

// A fuzz campaign against the codec, by hand: dotnet run -c Release --project Fuzz -- --inputs 10000000 [--seed N]
// Prints progress and figures; inputs that break the rule are written to artifacts/fuzz/ and the exit code is 1.
var inputs = 1_000_000L;
var seed = Environment.TickCount;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--inputs": inputs = long.Parse(args[i + 1].Replace("_", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}; options: --inputs N --seed N"); return 2;
    }
}

var campaign = new FuzzCampaign(seed);
var stopwatch = Stopwatch.StartNew();

// A hang inside the codec never returns to the loop: a watchdog reports the input and ends the run.
var watchdog = new Thread(() =>
{
    var last = -1L;
    while (true)
    {
        Thread.Sleep(10_000);
        if (campaign.Inputs == last && campaign.Current is { } current)
        {
            Console.WriteLine($"HANG on {current.Version} {Convert.ToHexString(current.Input)}");
            Environment.Exit(3);
        }

        last = campaign.Inputs;
    }
}) { IsBackground = true };
watchdog.Start();

Console.WriteLine($"fuzzing the codec: {inputs:N0} inputs, seed {seed}");
campaign.Run(inputs, c => Console.WriteLine($"{c.Inputs:N0} inputs, {c.Inputs / stopwatch.Elapsed.TotalSeconds:N0}/s, {c.Frames:N0} frames, {c.Decoded:N0} decoded, {c.Refused:N0} refused, {c.Outcomes:N0} outcomes, {c.Failures.Count} failures"));
stopwatch.Stop();

Console.WriteLine($"inputs {campaign.Inputs:N0}; {stopwatch.Elapsed.TotalSeconds:N1} s; {campaign.Inputs / stopwatch.Elapsed.TotalSeconds:N0} inputs/s; frames {campaign.Frames:N0}; decoded {campaign.Decoded:N0}; refused {campaign.Refused:N0}; distinct outcomes {campaign.Outcomes:N0}; corpus {campaign.CorpusSize:N0}; stalls {campaign.Stalls:N0}; failures {campaign.Failures.Count}");
if (campaign.Failures.Count == 0)
{
    return 0;
}

var directory = Path.Combine("artifacts", "fuzz");
Directory.CreateDirectory(directory);
var path = Path.Combine(directory, $"failures-{seed}.txt");
File.WriteAllLines(path, campaign.Failures.Select(f => f.ToString()));
foreach (var failure in campaign.Failures.Take(10))
{
    Console.WriteLine(failure);
}

Console.WriteLine($"all {campaign.Failures.Count} failures: {path}");
return 1;
