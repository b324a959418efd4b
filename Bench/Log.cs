namespace OrleansMqtt.Bench;

/// <summary>Progress goes to standard error; standard output carries only the JSON lines.</summary>
public static class Log
{
    public static void Info(string message) => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {message}");
}
