#!/bin/busybox sh
# PID 1 of the VM matrix's guests (tests/hwsim/vm.py, driven by
# tests/hwsim.rs over the console). Four simulated radios: hostapd as a WPA2
# AP on wlan0, wpa_supplicant as a station on wlan1. The Entware package,
# installed in /opt, is started by its init script with the rc.func
# stand-in under busybox sh, as on a router; the host scrapes it through
# QEMU's port forward.
#
# Lines for the host start with "@@ ". Commands come back on the console,
# one a line: traffic, reconfigure, capture, stop.

# The exporter, orphaned by its init script as on a router, is adopted by
# PID 1. A busybox shell as PID 1 would reap it unseen; a sleep never reaps,
# so after SIGTERM it stays a zombie whose /proc stat holds its exit status.
if [ "$$" = 1 ]; then
  # A background job's stdin would be /dev/null: the commands come on the console.
  /bin/busybox sh /init scenario < /dev/console &
  exec /bin/busybox sleep 2147483647
fi

/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mkdir -p /var/run /var/log
stty -echo 2>/dev/null

say() { echo "@@ $*"; }
# The exporter itself: the live one PID 1 adopted from the init script, not
# a collector child it forked for a scrape, nor a zombie PID 1 never reaps.
exporter_pid() {
  for p in $(pidof ap-exporter); do
    read -r st < /proc/$p/stat && set -- ${st##*) } && [ "$1" != Z ] && [ "$2" = 1 ] && echo $p
  done
}
logs() {
  for f in /tmp/hostapd.log /tmp/hostapd-idle.log /tmp/wpa.log /tmp/messages; do
    echo "--- $f"
    cat $f 2>/dev/null
  done
}
fail() {
  say "FAIL $*"
  logs
  poweroff -f
  exit 1
}
say "BOOTED $(uname -r) $(uname -m)"

# No modules.dep and no modprobe here: vm.py wrote the order, each module
# after those its .modinfo names, with its parameters.
while read -r m params; do
  insmod /mods/$m.ko $params || fail "insmod $m $params"
done < /mods/load.list
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
# QEMU's user network: the guest is 10.0.2.15, the host's port forward
# arrives from 10.0.2.2. No default route: the guest talks to nothing else.
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || fail "no eth0"
# The exporter logs to syslog (--syslog in its init script).
syslogd -O /tmp/messages

cat > /tmp/hostapd.conf <<CONF
interface=wlan0
driver=nl80211
ssid=ap-exporter-test
hw_mode=g
channel=6
ieee80211n=1
wpa=2
wpa_passphrase=correct-horse-battery
wpa_key_mgmt=WPA-PSK
rsn_pairwise=CCMP
ctrl_interface=/var/run/hostapd
CONF
hostapd -B /tmp/hostapd.conf > /tmp/hostapd.log 2>&1 || fail "hostapd"
# An idle radio: an open AP on wlan2 that no station joins (wifi_stations
# 0). wlan3 stays down (wifi_network_up 0).
cat > /tmp/hostapd-idle.conf <<CONF
interface=wlan2
driver=nl80211
ssid=ap-exporter-idle
hw_mode=g
channel=11
ctrl_interface=/var/run/hostapd
CONF
hostapd -B /tmp/hostapd-idle.conf > /tmp/hostapd-idle.log 2>&1 || fail "hostapd on the idle radio"
cat > /tmp/wpa.conf <<CONF
ctrl_interface=/var/run/wpa_supplicant
network={
  ssid="ap-exporter-test"
  psk="correct-horse-battery"
  scan_freq=2437
}
CONF
wpa_supplicant -B -D nl80211 -i wlan1 -c /tmp/wpa.conf > /tmp/wpa.log 2>&1 || fail "wpa_supplicant"
n=0
until wpa_cli -i wlan1 status 2>/dev/null | grep -q wpa_state=COMPLETED; do
  [ $n -lt 300 ] || fail "the station did not associate within 60 s"
  sleep 0.2; n=$((n + 1))
done
say "ASSOCIATED"

# Both radios share one namespace: policy routing sends local traffic over
# the simulated air instead of lo. Link-local addresses, inside this VM only.
ip addr add 169.254.10.1/24 dev wlan0
ip addr add 169.254.10.2/24 dev wlan1
ip link set wlan1 up
ip rule add pref 10 iif lo lookup 100
ip route add 169.254.10.2 dev wlan0 src 169.254.10.1 table 100
ip route add 169.254.10.1 dev wlan1 src 169.254.10.2 table 100
ip rule del pref 0 lookup local
ip rule add pref 1000 lookup local
# Traffic on demand: the station downloads 512 KiB from the AP's side, in
# well under a second, where ten 1-second pings took ten.
mkdir /tmp/www
dd if=/dev/zero of=/tmp/www/blob bs=1024 count=512 2>/dev/null
httpd -p 169.254.10.1:8080 -h /tmp/www || fail "httpd"

start=$(/opt/etc/init.d/S99ap-exporter start 2>&1)
pid=$(exporter_pid)
[ -n "$pid" ] || fail "the init script did not start ap-exporter: $start"
say "STARTED pid=$pid $start"

while read -r cmd; do
  case $cmd in
    traffic)
      timeout 60 wget -q -O /dev/null http://169.254.10.1:8080/blob
      say "TRAFFIC rc=$?"
      ;;
    reconfigure)
      # A changed config: the load collector off. SIGHUP through the init
      # script; the same process must go on serving.
      sed -i 's/^load = true/load = false/' /opt/etc/ap-exporter.toml
      out=$(/opt/etc/init.d/S99ap-exporter reconfigure 2>&1)
      say "RECONFIGURED pid=$(exporter_pid) $out"
      ;;
    capture)
      # Raw nl80211 replies and /proc/net/dev for tests/fixtures/openwrt_nl80211/.
      printf '[collectors]\nconntrack = false\n[netdev]\nsample_interval_seconds = 0\n[wireless]\nbackend = "nl80211"\nleases = ""\n' > /tmp/capture.toml
      /opt/bin/ap-exporter --once --config /tmp/capture.toml --nl80211-capture /tmp/capture > /dev/null 2>&1 ||
        say "CAPTURE FAILED"
      cp /proc/net/dev /tmp/capture/net_dev
      for f in /tmp/capture/*; do
        say "FILE ${f##*/}"
        base64 $f
      done
      say "CAPTURED"
      ;;
    stop)
      kill -TERM $pid
      n=0
      while :; do
        read -r st < /proc/$pid/stat || fail "ap-exporter vanished without a zombie"
        set -- ${st##*) }
        [ "$1" = Z ] && break
        [ $n -lt 100 ] || fail "ap-exporter still $1 10 s after SIGTERM"
        sleep 0.1; n=$((n + 1))
      done
      # Field 52 of /proc/PID/stat: the exit status as waitpid reports it.
      shift 49
      say "EXITED status=$1"
      break
      ;;
    *) say "UNKNOWN $cmd" ;;
  esac
done
logs
say "POWEROFF"
poweroff -f
