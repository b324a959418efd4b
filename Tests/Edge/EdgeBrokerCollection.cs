namespace OrleansMqtt.Tests.Edge;

[CollectionDefinition(Name)]
public sealed class EdgeBrokerCollection : ICollectionFixture<EdgeBrokerFixture>
{
    public const string Name = "edge broker";
}
