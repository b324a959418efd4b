using System.Security.Cryptography;
using System.Text;

namespace OrleansMqtt.Gateway;

/// <summary>
/// SCRAM-SHA-256 (RFC 5802, RFC 7677) as an MQTT 5 enhanced authentication method, against the users of
/// <c>Mqtt:Auth:PasswordFile</c>. No channel binding. CONNECT carries client-first, AUTH 0x18 server-first, the
/// client's AUTH client-final, and CONNACK (or AUTH 0x00 on re-authentication) server-final.
/// </summary>
public sealed class ScramSha256Authenticator(ConnectAuthenticator users) : IEnhancedAuthenticator
{
    public string Method => "SCRAM-SHA-256";

    /// <summary>The users of the password file as it is now: the file is read again when it changes.</summary>
    public IEnhancedAuthentication Begin() => new Exchange(users.Users);

    private sealed class Exchange(PasswordFile? users) : IEnhancedAuthentication
    {
        private string? _user;
        private string? _clientFirstBare;
        private string? _serverFirst;
        private string? _nonce;
        private UserVerifier? _verifier;

        public AuthStep Step(ReadOnlySpan<byte> clientData)
        {
            var message = Encoding.UTF8.GetString(clientData);
            return _serverFirst is null ? First(message) : Final(message);
        }

        private AuthStep First(string clientFirst)
        {
            // gs2-header "n,," (no channel binding, no authzid), then n=user,r=nonce.
            if (!clientFirst.StartsWith("n,,", StringComparison.Ordinal) && !clientFirst.StartsWith("y,,", StringComparison.Ordinal))
            {
                return AuthStep.Fail("SCRAM client-first must start with n,, (channel binding is not supported)");
            }

            _clientFirstBare = clientFirst[3..];
            var attributes = Parse(_clientFirstBare);
            if (!attributes.TryGetValue('n', out var user) || !attributes.TryGetValue('r', out var clientNonce) || clientNonce.Length == 0)
            {
                return AuthStep.Fail("SCRAM client-first lacks n= or r=");
            }

            _user = user.Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
            if (users is null || !users.TryGet(_user, out var verifier))
            {
                return AuthStep.Fail("unknown user");
            }

            _verifier = verifier;
            _nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            _serverFirst = $"r={_nonce},s={Convert.ToBase64String(verifier.Salt)},i={verifier.Iterations}";
            return AuthStep.Continue(Encoding.UTF8.GetBytes(_serverFirst));
        }

        private AuthStep Final(string clientFinal)
        {
            var proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
            if (proofAt < 0 || _verifier is null)
            {
                return AuthStep.Fail("SCRAM client-final lacks p=");
            }

            var withoutProof = clientFinal[..proofAt];
            var attributes = Parse(withoutProof);
            if (!attributes.TryGetValue('r', out var nonce) || nonce != _nonce)
            {
                return AuthStep.Fail("SCRAM nonce mismatch");
            }

            byte[] proof;
            try
            {
                proof = Convert.FromBase64String(clientFinal[(proofAt + 3)..]);
            }
            catch (FormatException)
            {
                return AuthStep.Fail("SCRAM proof is not base64");
            }

            var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
            var clientSignature = HMACSHA256.HashData(_verifier.StoredKey, authMessage);
            if (proof.Length != clientSignature.Length)
            {
                return AuthStep.Fail("bad SCRAM proof");
            }

            var clientKey = new byte[proof.Length];
            for (var i = 0; i < proof.Length; i++)
            {
                clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
            }

            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), _verifier.StoredKey))
            {
                return AuthStep.Fail("bad SCRAM proof");
            }

            var serverSignature = HMACSHA256.HashData(_verifier.ServerKey, authMessage);
            return AuthStep.Success(_user!, Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature)));
        }

        private static Dictionary<char, string> Parse(string message)
        {
            var result = new Dictionary<char, string>();
            foreach (var part in message.Split(','))
            {
                if (part.Length >= 2 && part[1] == '=')
                {
                    result[part[0]] = part[2..];
                }
            }

            return result;
        }
    }
}
