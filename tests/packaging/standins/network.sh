# A stand-in for OpenWrt's /lib/functions/network.sh (package base-files),
# written for the tests: the real one asks netifd over ubus ("ubus call
# network.interface dump"), and neither is on this machine. It reads what
# the ifup stand-in (standins/ifup) records of each network that is up.
#   network_get_device VAR NETWORK
#       VAR=the network's layer-3 device (br-lan for lan) and status 0 while
#       the network is up; VAR unset and status 1 otherwise (down, or no
#       such network), as the real function does.
#   network_flush_cache    the real one forgets its cached dump; nothing here.

network_flush_cache() { return 0; }

network_get_device() { # VAR NETWORK
	local _nd_dev
	case "$2" in '' | *[!A-Za-z0-9_]*) unset "$1"; return 1 ;; esac
	if [ -f "/var/run/netifd-standin/$2" ] && read -r _nd_dev < "/var/run/netifd-standin/$2" && [ -n "$_nd_dev" ]; then
		eval "$1=\$_nd_dev"
		return 0
	fi
	unset "$1"
	return 1
}
