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

# npm_tool PACKAGE VERSION DIR: installs the npm package at that version into .tools/DIR (git-ignored), unless there.
tools_dir="$(cd "$(dirname "$0")/.." && pwd)/.tools"
npm_tool() {
  local package=$1 version=$2 dir="$tools_dir/$3"
  if ! grep -qs "\"version\": \"$version\"" "$dir/node_modules/$package/package.json"; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to install $package (Debian package npm)" >&2; exit 1; }
    echo "Installing $package@$version into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$package@$version" >/dev/null
  fi
}

# Azurite (the local Azure Storage) for the storage and fault tests. Tests start it themselves
# (node .tools/azurite/node_modules/azurite/dist/src/azurite.js) on free ports.
npm_tool azurite 3.37.0 azurite

# MQTT.js (the npm package mqtt) for the interoperability tests, which run Tests/Interop/mqttjs_client.js with
# NODE_PATH=.tools/mqttjs/node_modules.
npm_tool mqtt 5.16.0 mqttjs

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
