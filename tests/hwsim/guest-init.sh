#!/bin/busybox sh
# PID 1 of the hwsim test VM: two simulated radios, hostapd as an AP on
# wlan0, wpa_supplicant as a station on wlan1, traffic forced over the
# simulated air, then one ap-exporter scrape. Results go to /dev/ttyS1.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp /var/run
mount -t tmpfs tmp /tmp
stty -F /dev/ttyS1 -opost
exec 3>/dev/ttyS1
say() { echo "$@" >&3; }

# No modules.dep or modprobe here: load in dependency order. ctr and ccm
# before any WPA2 network, or key install fails.
for m in rfkill cfg80211 libarc4 mac80211 virtio_ring virtio ctr ccm; do
  insmod /mods/$m.ko || say "insmod $m failed"
done
insmod /mods/mac80211_hwsim.ko radios=2 support_p2p_device=0 || say "insmod hwsim failed"
ip link set lo up

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
hostapd -B /tmp/hostapd.conf > /tmp/hostapd.log 2>&1 || say "hostapd failed"
cat > /tmp/wpa.conf <<CONF
ctrl_interface=/var/run/wpa_supplicant
network={
  ssid="ap-exporter-test"
  psk="correct-horse-battery"
  scan_freq=2437
}
CONF
wpa_supplicant -B -D nl80211 -i wlan1 -c /tmp/wpa.conf > /tmp/wpa.log 2>&1 || say "wpa_supplicant failed"
i=0
while [ $i -lt 200 ]; do
  wpa_cli -i wlan1 status 2>/dev/null | grep -q wpa_state=COMPLETED && break
  sleep 0.1; i=$((i + 1))
done
say "=== WPA"
wpa_cli -i wlan1 status >&3 2>&1

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
ping -c 10 -s 1000 -I 169.254.10.1 169.254.10.2 > /tmp/ping.log 2>&1
say "=== PING"
tail -2 /tmp/ping.log >&3

cat > /tmp/ap-exporter.toml <<CONF
[collectors]
conntrack = false
[netdev]
sample_interval_seconds = 0
[wireless]
backend = "nl80211"
leases = ""
CONF
/ap-exporter --once --config /tmp/ap-exporter.toml --nl80211-capture /tmp/capture > /tmp/scrape.txt 2> /tmp/scrape.err
say "=== EXIT $?"
say "=== SCRAPE"
cat /tmp/scrape.txt >&3
say "=== STDERR"
cat /tmp/scrape.err >&3
say "=== IW"
iw dev wlan0 station dump >&3 2>&1
iw dev wlan0 info >&3 2>&1
say "=== LO_TX_PACKETS"
cat /sys/class/net/lo/statistics/tx_packets >&3
say "=== NET_DEV"
cat /proc/net/dev >&3
say "=== CAPTURE"
tar -C /tmp/capture -cf - . | base64 >&3
say "=== END"
sync
poweroff -f
