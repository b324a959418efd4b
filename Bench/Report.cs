using System.Text.Json;

namespace OrleansMqtt.Bench;

/// <summary>One scenario's result: printed as one JSON line on standard output (logs go to standard error).</summary>
public sealed class Report
{
    private readonly List<(string Name, object? Value)> _fields = [];

    public Report(string scenario, BenchOptions options)
    {
        Add("scenario", scenario);
        Add("broker", options.Broker);
        Add("mqtt", options.Version == OrleansMqtt.Protocol.MqttProtocolVersion.V500 ? 5 : 4);
    }

    public Report Add(string name, object? value)
    {
        _fields.Add((name, value));
        return this;
    }

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in _fields)
            {
                writer.WritePropertyName(name);
                switch (value)
                {
                    case null:
                        writer.WriteNullValue();
                        break;
                    case string s:
                        writer.WriteStringValue(s);
                        break;
                    case bool b:
                        writer.WriteBooleanValue(b);
                        break;
                    case int i:
                        writer.WriteNumberValue(i);
                        break;
                    case long l:
                        writer.WriteNumberValue(l);
                        break;
                    case double d when double.IsFinite(d):
                        writer.WriteNumberValue(Math.Round(d, d >= 100 ? 1 : 4));
                        break;
                    case double:
                        writer.WriteNullValue();
                        break;
                    default:
                        writer.WriteStringValue(value.ToString());
                        break;
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
