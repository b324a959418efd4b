using System.Text;
using System.Text.Unicode;

namespace OrleansMqtt.Protocol;

/// <summary>The UTF-8 Encoded String rules of 5.0 section 1.5.4 (3.1.1 section 1.5.3).</summary>
internal static class Utf8Rules
{
    /// <summary>The longest string a two-byte length prefix can describe (1.5.4).</summary>
    public const int MaxStringBytes = ushort.MaxValue;

    /// <summary>Throws MalformedPacket unless <paramref name="utf8"/> is a well-formed MQTT string.</summary>
    public static void ThrowIfInvalid(ReadOnlySpan<byte> utf8)
    {
        // [MQTT-1.5.4-1] (3.1.1: [MQTT-1.5.3-1]): well-formed UTF-8, which excludes encoded surrogates U+D800..U+DFFF
        // and overlong forms; Utf8.IsValid implements exactly RFC 3629's definition.
        if (!Utf8.IsValid(utf8))
        {
            throw MqttErrors.Malformed("A UTF-8 Encoded String is ill-formed [MQTT-1.5.4-1].");
        }

        // [MQTT-1.5.4-2] (3.1.1: [MQTT-1.5.3-2]): no U+0000. In well-formed UTF-8 it can only appear as the byte 0x00.
        if (utf8.Contains((byte)0))
        {
            throw MqttErrors.Malformed("A UTF-8 Encoded String contains U+0000 [MQTT-1.5.4-2].");
        }

        // [MQTT-1.5.4-3]: a BOM (EF BB BF) is an ordinary U+FEFF and is kept, which Encoding.UTF8.GetString does.
    }

    /// <summary>
    /// The UTF-8 length of <paramref name="text"/>, or false when it holds an unpaired surrogate
    /// (which has no well-formed UTF-8 encoding, [MQTT-1.5.4-1]).
    /// </summary>
    public static bool TryGetUtf8Length(ReadOnlySpan<char> text, out int length)
    {
        if (Ascii.IsValid(text))
        {
            length = text.Length;
            return true;
        }

        length = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c < 0x80)
            {
                length += 1;
            }
            else if (c < 0x800)
            {
                length += 2;
            }
            else if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                length += 4;
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
            else
            {
                length += 3;
            }
        }

        return true;
    }

    /// <summary>
    /// True when <paramref name="text"/> holds a code point 1.5.4 calls disallowed: U+0001..U+001F, U+007F..U+009F,
    /// or a non-character. A receiver "MAY treat it as a Malformed Packet"; we do so for topic names only, where such
    /// characters can only be mistakes and would leak into other clients' subscriptions.
    /// </summary>
    public static bool HasDisallowedCodePoints(string text)
    {
        foreach (Rune rune in text.EnumerateRunes())
        {
            int v = rune.Value;
            if (v <= 0x1F || (v >= 0x7F && v <= 0x9F) || (v >= 0xFDD0 && v <= 0xFDEF) || (v & 0xFFFE) == 0xFFFE)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The byte count of a string field's content, checked against the two-byte length prefix.</summary>
    public static int GetEncodedLength(string text)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        if (length > MaxStringBytes)
        {
            throw new ArgumentException($"A UTF-8 Encoded String is at most {MaxStringBytes} bytes (1.5.4); this one is {length}.", nameof(text));
        }

        return length;
    }
}
