namespace OrleansMqtt.Gateway;

/// <summary><c>dotnet run --project Gateway -- passwd FILE USER</c>: adds or replaces a user in a password file.</summary>
public static class PasswdCommand
{
    public static int Run(string file, string user)
    {
        var password = ReadPassword();
        if (string.IsNullOrEmpty(password))
        {
            Console.Error.WriteLine("No password given.");
            return 2;
        }

        try
        {
            PasswordFile.SetUser(file, user, password);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        Console.WriteLine($"{user} set in {file}");
        return 0;
    }

    /// <summary>From standard input when it is redirected, else typed at a prompt without echo.</summary>
    private static string? ReadPassword()
    {
        if (Console.IsInputRedirected)
        {
            return Console.ReadLine();
        }

        Console.Write("Password: ");
        var password = new System.Text.StringBuilder();
        while (Console.ReadKey(intercept: true) is { Key: not ConsoleKey.Enter } key)
        {
            if (key.Key == ConsoleKey.Backspace)
            {
                password.Length = Math.Max(0, password.Length - 1);
            }
            else
            {
                password.Append(key.KeyChar);
            }
        }

        Console.WriteLine();
        return password.ToString();
    }
}
