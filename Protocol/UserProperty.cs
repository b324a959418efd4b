namespace OrleansMqtt.Protocol;

/// <summary>A v5 User Property: a UTF-8 string pair. Order and duplicates are significant.</summary>
public readonly record struct UserProperty(string Name, string Value);
