using OrleansMqtt.Gateway;

if (args is ["passwd", var file, var user])
{
    return PasswdCommand.Run(file, user);
}

// A standalone gateway: terminates MQTT and joins the silos as an Orleans client.
var builder = BrokerHost.CreateBuilder(args);
builder.UseOrleansClient(client => client.AddMqttClusterClient(builder.Configuration));
builder.AddMqttGateway();
return StartupErrors.Run(builder);
