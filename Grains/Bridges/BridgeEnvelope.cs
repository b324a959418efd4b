using System.Buffers;
using System.Text;
using System.Text.Json;
using OrleansMqtt.Protocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// The JSON a queue message carries, both ways (schema in docs/bridges.md):
/// <c>{"topic","payload","payloadEncoding":"utf8"|"base64","qos","retain","clientId","timestamp","redelivered","properties":{...}}</c>.
/// Outbound, the payload is UTF-8 text when the publisher marked it so (v5 Payload Format Indicator 1), base64 otherwise.
/// </summary>
public static class BridgeEnvelope
{
    /// <summary>An Azure Storage Queue message holds at most 64 KiB.</summary>
    public const int MaxQueueMessageBytes = 64 * 1024;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Write(MqttMessage message, DateTime timestampUtc, bool redelivered)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + message.Payload.Length * 4 / 3);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("topic", message.Topic);
            var properties = message.Properties;
            if (properties?.PayloadFormatIndicator == 1 && TryUtf8(message.Payload.Span, out var text))
            {
                json.WriteString("payload", text);
                json.WriteString("payloadEncoding", "utf8");
            }
            else
            {
                json.WriteBase64String("payload", message.Payload.Span);
                json.WriteString("payloadEncoding", "base64");
            }

            json.WriteNumber("qos", message.Qos);
            json.WriteBoolean("retain", message.Retain);
            if (message.PublisherId is { } publisher)
            {
                json.WriteString("clientId", publisher);
            }

            json.WriteString("timestamp", timestampUtc);
            if (redelivered)
            {
                json.WriteBoolean("redelivered", true);
            }

            if (properties is not null)
            {
                WriteProperties(json, properties);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteProperties(Utf8JsonWriter json, MessageProperties properties)
    {
        json.WriteStartObject("properties");
        if (properties.PayloadFormatIndicator is { } format)
        {
            json.WriteNumber("payloadFormatIndicator", format);
        }

        if (properties.MessageExpiryInterval is { } expiry)
        {
            json.WriteNumber("messageExpiryInterval", expiry);
        }

        if (properties.ContentType is { } contentType)
        {
            json.WriteString("contentType", contentType);
        }

        if (properties.ResponseTopic is { } responseTopic)
        {
            json.WriteString("responseTopic", responseTopic);
        }

        if (properties.CorrelationData is { } correlation)
        {
            json.WriteBase64String("correlationData", correlation);
        }

        if (properties.UserProperties is { Length: > 0 } user)
        {
            json.WriteStartArray("userProperties");
            foreach (var pair in user)
            {
                json.WriteStartObject();
                json.WriteString("name", pair.Name);
                json.WriteString("value", pair.Value);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    /// <summary>
    /// The message a backend put on an inbound queue, or why it cannot be published. The body may be the JSON itself
    /// or its base64 (what Azure Functions and some SDK settings write).
    /// </summary>
    public static bool TryRead(string body, string publisherId, DateTime nowUtc, out MqttMessage? message, out string? error)
    {
        message = null;
        var trimmed = body.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] != '{' && TryBase64Text(body, out var decoded))
        {
            body = decoded;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            message = Read(document.RootElement, publisherId, nowUtc, out error);
            return message is not null;
        }
        catch (JsonException ex)
        {
            error = "not a JSON envelope: " + ex.Message;
            return false;
        }
    }

    private static MqttMessage? Read(JsonElement root, string publisherId, DateTime nowUtc, out string? error)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "the envelope is not a JSON object";
            return null;
        }

        if (!root.TryGetProperty("topic", out var topicElement) || topicElement.ValueKind != JsonValueKind.String || topicElement.GetString() is not { Length: > 0 } topic)
        {
            error = "the envelope has no \"topic\"";
            return null;
        }

        if (!Topic.IsValidName(topic))
        {
            error = $"\"{topic}\" is not a valid topic name (no wildcards, no empty name, at most 65535 bytes)";
            return null;
        }

        var encoding = root.TryGetProperty("payloadEncoding", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : "utf8";
        byte[] payload;
        if (!root.TryGetProperty("payload", out var payloadElement) || payloadElement.ValueKind == JsonValueKind.Null)
        {
            payload = [];
        }
        else if (payloadElement.ValueKind != JsonValueKind.String)
        {
            error = "\"payload\" is not a string";
            return null;
        }
        else if (encoding == "base64")
        {
            if (!payloadElement.TryGetBytesFromBase64(out var bytes))
            {
                error = "\"payload\" is not valid base64";
                return null;
            }

            payload = bytes;
        }
        else if (encoding == "utf8")
        {
            payload = Encoding.UTF8.GetBytes(payloadElement.GetString()!);
        }
        else
        {
            error = $"\"payloadEncoding\" is \"{encoding}\": \"utf8\" or \"base64\" expected";
            return null;
        }

        var qos = 0;
        if (root.TryGetProperty("qos", out var qosElement) && (!qosElement.TryGetInt32(out qos) || qos is < 0 or > 2))
        {
            error = "\"qos\" must be 0, 1 or 2";
            return null;
        }

        var retain = root.TryGetProperty("retain", out var retainElement) && retainElement.ValueKind == JsonValueKind.True;
        MessageProperties? properties = null;
        if (root.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            properties = ReadProperties(p, out error);
            if (error is not null)
            {
                return null;
            }
        }

        error = null;
        var expires = properties?.MessageExpiryInterval is { } seconds ? nowUtc.AddSeconds(seconds) : (DateTime?)null;
        return new MqttMessage(topic, payload, (byte)qos, retain, properties, publisherId, expires);
    }

    private static MessageProperties? ReadProperties(JsonElement p, out string? error)
    {
        error = null;
        try
        {
            byte? format = p.TryGetProperty("payloadFormatIndicator", out var f) ? f.GetByte() : null;
            uint? expiry = p.TryGetProperty("messageExpiryInterval", out var m) ? m.GetUInt32() : null;
            var contentType = p.TryGetProperty("contentType", out var c) ? c.GetString() : null;
            var responseTopic = p.TryGetProperty("responseTopic", out var r) ? r.GetString() : null;
            if (responseTopic is not null && !Topic.IsValidName(responseTopic))
            {
                error = $"\"responseTopic\" \"{responseTopic}\" is not a valid topic name";
                return null;
            }

            var correlation = p.TryGetProperty("correlationData", out var d) ? d.GetBytesFromBase64() : null;
            UserPropertyPair[]? user = null;
            if (p.TryGetProperty("userProperties", out var u) && u.ValueKind == JsonValueKind.Array)
            {
                user = [.. u.EnumerateArray().Select(x => new UserPropertyPair(x.GetProperty("name").GetString() ?? "", x.GetProperty("value").GetString() ?? ""))];
            }

            return format is null && expiry is null && contentType is null && responseTopic is null && correlation is null && user is null
                ? null
                : new MessageProperties(format, expiry, responseTopic, correlation, user, contentType);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or KeyNotFoundException)
        {
            error = "\"properties\" are malformed: " + ex.Message;
            return null;
        }
    }

    private static bool TryUtf8(ReadOnlySpan<byte> bytes, out string text)
    {
        try
        {
            text = StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }

    private static bool TryBase64Text(string body, out string text)
    {
        var bytes = new byte[body.Length];
        if (Convert.TryFromBase64String(body.Trim(), bytes, out var written) && TryUtf8(bytes.AsSpan(0, written), out text) && text.TrimStart().StartsWith('{'))
        {
            return true;
        }

        text = "";
        return false;
    }
}
