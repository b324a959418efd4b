#!/usr/bin/env bash
# Installs what the tests use besides the .NET SDK, when it is missing:
# mosquitto_pub/mosquitto_sub and Python paho-mqtt (Debian packages) for the interoperability tests, chromium
# (Debian package) for the dashboard's headless-browser test, and Azurite
# (npm) for the storage and fault tests, MQTT.js (npm) for the interoperability tests, and the Bicep CLI (NuGet) for
# the infra/ tests.
set -euo pipefail

need_apt=()
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
/usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1 || need_apt+=(python3-paho-mqtt)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing ${need_apt[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Azurite (the local Azure Storage) for the storage and fault tests, into the git-ignored .tools/azurite.
# Tests start it themselves (node .tools/azurite/node_modules/azurite/dist/src/azurite.js) on free ports.
azurite_version=3.37.0
azurite_dir="$(cd "$(dirname "$0")/.." && pwd)/.tools/azurite"
if ! grep -qs "\"version\": \"$azurite_version\"" "$azurite_dir/node_modules/azurite/package.json"; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed to install Azurite (Debian package npm)" >&2; exit 1; }
  echo "Installing azurite@$azurite_version into $azurite_dir"
  mkdir -p "$azurite_dir"
  npm install --prefix "$azurite_dir" --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >/dev/null
fi

# MQTT.js (the npm package mqtt) for the interoperability tests, into the git-ignored .tools/mqttjs; the tests run
# Tests/Interop/mqttjs_client.js with NODE_PATH=.tools/mqttjs/node_modules.
mqttjs_version=5.16.0
mqttjs_dir="$(cd "$(dirname "$0")/.." && pwd)/.tools/mqttjs"
if ! grep -qs "\"version\": \"$mqttjs_version\"" "$mqttjs_dir/node_modules/mqtt/package.json"; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed to install MQTT.js (Debian package npm)" >&2; exit 1; }
  echo "Installing mqtt@$mqttjs_version (MQTT.js) into $mqttjs_dir"
  mkdir -p "$mqttjs_dir"
  npm install --prefix "$mqttjs_dir" --no-audit --no-fund --loglevel=error "mqtt@$mqttjs_version" >/dev/null
fi

# The Bicep CLI for the infra/ tests (bicep build, bicep lint): a native binary shipped in the NuGet package
# Azure.Bicep.CommandLine.linux-x64, which tools/BicepCli downloads into the NuGet global packages folder.
bicep_version=0.49.2
nuget_packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
bicep="$nuget_packages/azure.bicep.commandline.linux-x64/$bicep_version/tools/bicep"
if [ ! -x "$bicep" ]; then
  echo "Installing the Bicep CLI $bicep_version"
  dotnet restore "$(cd "$(dirname "$0")/.." && pwd)/tools/BicepCli/BicepCli.csproj" >/dev/null
  chmod +x "$bicep"
fi
