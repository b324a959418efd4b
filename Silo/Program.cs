using OrleansMqtt.Gateway;
using OrleansMqtt.Silo;

// One silo; with Mqtt:Tcp:Enabled (the default) it is also a gateway, so one command runs a whole broker.
var builder = BrokerHost.CreateBuilder(args);
builder.UseOrleans(silo => silo.AddMqttSilo(builder.Configuration));
builder.AddMqttGateway();
return StartupErrors.Run(builder);
