#!/bin/sh
# busybox udhcpc's hook: configure the lease it got ($1: deconfig, bound, renew).
case $1 in
deconfig)
	ip addr flush dev "$interface"
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	r=
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	echo "$ip ${r:-none} $(echo $dns | cut -d' ' -f1)" >/tmp/lease
	;;
esac
exit 0
