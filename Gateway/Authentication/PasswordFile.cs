using System.Security.Cryptography;
using System.Text;

namespace OrleansMqtt.Gateway;

/// <summary>
/// Users and their SCRAM-SHA-256 verifiers, one per line: <c>user:scram-sha-256$iterations$salt$storedKey$serverKey</c>
/// (base64). The password itself is never stored: the salted PBKDF2 of it yields the two keys (RFC 5802), which
/// verify both a SCRAM exchange and a plain password. Lines starting with '#' are comments.
/// </summary>
public sealed class PasswordFile
{
    public const string Scheme = "scram-sha-256";
    public const int DefaultIterations = 100_000;

    private readonly Dictionary<string, UserVerifier> _users;

    private PasswordFile(Dictionary<string, UserVerifier> users) => _users = users;

    public int Count => _users.Count;

    public static PasswordFile Load(string path)
    {
        var users = new Dictionary<string, UserVerifier>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var colon = line.LastIndexOf(':');
            var parts = colon > 0 ? line[(colon + 1)..].Split('$') : [];
            if (parts.Length != 5 || parts[0] != Scheme || !int.TryParse(parts[1], out var iterations) || iterations < 1)
            {
                throw new FormatException($"{path}:{number}: expected user:{Scheme}$iterations$salt$storedKey$serverKey");
            }

            users[line[..colon]] = new UserVerifier(iterations, Convert.FromBase64String(parts[2]), Convert.FromBase64String(parts[3]), Convert.FromBase64String(parts[4]));
        }

        return new PasswordFile(users);
    }

    public bool TryGet(string user, out UserVerifier verifier) => _users.TryGetValue(user, out verifier!);

    /// <summary>Checks a plain password (CONNECT User Name and Password) against the stored verifier.</summary>
    public bool Verify(string user, ReadOnlySpan<byte> password)
    {
        if (!_users.TryGetValue(user, out var verifier))
        {
            return false;
        }

        var salted = Rfc2898DeriveBytes.Pbkdf2(password, verifier.Salt, verifier.Iterations, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        return CryptographicOperations.FixedTimeEquals(storedKey, verifier.StoredKey);
    }

    /// <summary>Adds or replaces a user in the file, keeping the other lines.</summary>
    public static void SetUser(string path, string user, string password, int iterations = DefaultIterations)
    {
        if (user.Length == 0 || user.Contains(':') || user.Contains('\n'))
        {
            throw new ArgumentException("A user name must be non-empty and contain neither ':' nor a line break.", nameof(user));
        }

        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var storedKey = SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8));
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        var entry = $"{user}:{Scheme}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(storedKey)}${Convert.ToBase64String(serverKey)}";
        var lines = File.Exists(path) ? File.ReadAllLines(path).Where(l => !l.StartsWith(user + ":", StringComparison.Ordinal)).ToList() : [];
        lines.Add(entry);
        File.WriteAllLines(path, lines);
    }
}

public sealed record UserVerifier(int Iterations, byte[] Salt, byte[] StoredKey, byte[] ServerKey);
