using System.Buffers;
using Orleans.Serialization.Buffers;
using Orleans.Serialization.Codecs;
using Orleans.Serialization.GeneratedCodeHelpers;
using Orleans.Serialization.Serializers;
using Orleans.Serialization.WireProtocol;

namespace OrleansMqtt.Grains;

/// <summary>
/// Writes and reads <see cref="MqttMessage"/> in the layout Orleans' generated codec gave it (stored messages and
/// other silos read it unchanged; <c>StorageFormatTests</c> holds both to the bytes), with one difference in how:
/// the payload is not entered in the serializer's table of written objects. Orleans' codec for
/// <see cref="ReadOnlyMemory{T}"/> of bytes boxes the payload to look it up there, and a box is never found again,
/// so each one cost a hash and a table entry for nothing: 15 % of the CPU of a persistent session's group commit.
/// The payload still counts as a written object (<see cref="ReferenceCodec.MarkValueField"/>), as the box did, so
/// references to later objects keep their numbers.
/// </summary>
[RegisterSerializer]
public sealed class MqttMessageCodec(ICodecProvider codecs) : IFieldCodec<MqttMessage>
{
    private static readonly Type MessageType = typeof(MqttMessage);
    private static readonly Type PayloadType = typeof(ReadOnlyMemory<byte>);
    private static readonly Type PropertiesType = typeof(MessageProperties);
    private static readonly Type ExpiresType = typeof(DateTime?);

    private readonly IFieldCodec<MessageProperties> _properties = codecs.GetCodec<MessageProperties>();
    private readonly IFieldCodec<DateTime?> _expires = codecs.GetCodec<DateTime?>();

    [ThreadStatic]
    private static bool t_inFull;

    /// <summary>
    /// Until disposed, messages serialized on this thread are written in full wherever they occur, not as a
    /// reference to an earlier copy, and not entered in the serializer's table of written objects. For stored state:
    /// a session holds each message once (but for the rare one queued twice, then written twice), and a table of its
    /// hundreds of messages, rebuilt on every group commit, cost more than it saved. Between processes messages stay
    /// tracked: a delivery batch to a gateway names one message once for each of its subscribers there.
    /// </summary>
    public static InFullScope InFull()
    {
        t_inFull = true;
        return default;
    }

    public readonly struct InFullScope : IDisposable
    {
        public void Dispose() => t_inFull = false;
    }

    public void WriteField<TBufferWriter>(ref Writer<TBufferWriter> writer, uint fieldIdDelta, Type? expectedType, MqttMessage? value)
        where TBufferWriter : IBufferWriter<byte>
    {
        if (t_inFull && value is not null)
        {
            // Numbered as a written object all the same, so references to later objects keep their numbers.
            ReferenceCodec.MarkValueField(writer.Session);
        }
        else if (ReferenceCodec.TryWriteReferenceField(ref writer, fieldIdDelta, expectedType, value))
        {
            return;
        }

        writer.WriteStartObject(fieldIdDelta, expectedType, MessageType);
        writer.WriteEndBase();
        StringCodec.WriteField(ref writer, 0, value.Topic);
        ReferenceCodec.MarkValueField(writer.Session);
        writer.WriteFieldHeader(1, PayloadType, PayloadType, WireType.LengthPrefixed);
        writer.WriteVarUInt32((uint)value.Payload.Length);
        writer.Write(value.Payload.Span);
        ByteCodec.WriteField(ref writer, 1, value.Qos);
        BoolCodec.WriteField(ref writer, 1, value.Retain);
        _properties.WriteField(ref writer, 1, PropertiesType, value.Properties!);
        StringCodec.WriteField(ref writer, 1, value.PublisherId);
        _expires.WriteField(ref writer, 1, ExpiresType, value.ExpiresAtUtc);
        Int64Codec.WriteField(ref writer, 14, value.ExactlyOnceId);
        Int64Codec.WriteField(ref writer, 1, value.PublishedAtTicks);
        writer.WriteEndObject();
    }

    public MqttMessage ReadValue<TInput>(ref Reader<TInput> reader, Field field)
    {
        if (field.IsReference)
        {
            return ReferenceCodec.ReadReference<MqttMessage, TInput>(ref reader, field)!;
        }

        field.EnsureWireTypeTagDelimited();

        // The message is numbered before its fields, as the generated codec recorded it before reading them.
        var id = ReferenceCodec.CreateRecordPlaceholder(reader.Session);
        string topic = "";
        ReadOnlyMemory<byte> payload = default;
        byte qos = 0;
        bool retain = false;
        MessageProperties? properties = null;
        string? publisherId = null;
        DateTime? expiresAtUtc = null;
        long exactlyOnceId = 0;
        long publishedAtTicks = 0;

        Field header = default;
        reader.ReadFieldHeader(ref header);
        reader.ConsumeEndBaseOrEndObject(ref header);
        if (header.IsEndBaseFields)
        {
            uint fieldId = 0;
            while (true)
            {
                reader.ReadFieldHeader(ref header);
                if (header.IsEndBaseOrEndObject)
                {
                    break;
                }

                fieldId += header.FieldIdDelta;
                switch (fieldId)
                {
                    case 0: topic = StringCodec.ReadValue(ref reader, header) ?? ""; break;
                    case 1: payload = ReadOnlyMemoryOfByteCodec.ReadValue(ref reader, header); break;
                    case 2: qos = ByteCodec.ReadValue(ref reader, header); break;
                    case 3: retain = BoolCodec.ReadValue(ref reader, header); break;
                    case 4: properties = _properties.ReadValue(ref reader, header); break;
                    case 5: publisherId = StringCodec.ReadValue(ref reader, header); break;
                    case 6: expiresAtUtc = _expires.ReadValue(ref reader, header); break;
                    case 20: exactlyOnceId = Int64Codec.ReadValue(ref reader, header); break;
                    case 21: publishedAtTicks = Int64Codec.ReadValue(ref reader, header); break;
                    default: reader.ConsumeUnknownField(ref header); break;
                }
            }
        }

        var message = new MqttMessage(topic, payload, qos, retain, properties, publisherId, expiresAtUtc, exactlyOnceId, publishedAtTicks);
        ReferenceCodec.RecordObject(reader.Session, message, id);
        return message;
    }
}
