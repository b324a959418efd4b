using System.Buffers;
using System.Collections;
using System.Reflection;

namespace OrleansMqtt.Tests.Protocol;

/// <summary>
/// Structural comparison of packets: public properties recursively, collections element by element, byte buffers by
/// content. The packet classes have reference equality, so Assert.Equal would not do.
/// </summary>
internal static class Equivalence
{
    public static void AssertEquivalent(object? expected, object? actual, string path = "packet")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}.");
            return;
        }

        switch (expected)
        {
            case ReadOnlySequence<byte> sequence:
                Assert.Equal(sequence.ToArray(), Assert.IsType<ReadOnlySequence<byte>>(actual).ToArray());
                return;
            case ReadOnlyMemory<byte> memory:
                Assert.Equal(memory.ToArray(), Assert.IsType<ReadOnlyMemory<byte>>(actual).ToArray());
                return;
            case string or Enum or bool or byte or ushort or int or uint or long:
                Assert.True(expected.Equals(actual), $"{path}: expected {expected}, got {actual}.");
                return;
            case IEnumerable expectedItems:
                object[] e = expectedItems.Cast<object>().ToArray();
                object[] a = Assert.IsAssignableFrom<IEnumerable>(actual).Cast<object>().ToArray();
                Assert.True(e.Length == a.Length, $"{path}: expected {e.Length} items, got {a.Length}.");
                for (int i = 0; i < e.Length; i++)
                {
                    AssertEquivalent(e[i], a[i], $"{path}[{i}]");
                }

                return;
        }

        Assert.Equal(expected.GetType(), actual.GetType());
        foreach (PropertyInfo property in expected.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0)
            {
                AssertEquivalent(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
            }
        }
    }
}
