# git-gitian guest agent, run by /sbin/gitian-init as PID 1 from the host's virtiofs share.
# Protocol on the virtio-serial port "org.gitian.ctl", one line each way:
#   guest: READY                      once, when it can take commands
#   host:  RUN <id>                   run /run/gitian/cmd/<id>/run (written by the host)
#   guest: EXIT <id> <status>         when it has finished
#   host:  NET off                    take the network interface down for good
#   guest: NET off
# The host stops the guest itself (QMP quit); nothing on disk needs to survive.
hostname gitian
ip link set lo up
mount -t tmpfs -o mode=1777 tmpfs /tmp
modprobe virtio_console
port=
for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = org.gitian.ctl ] && port=/dev/${p##*/}
done
if [ -z "$port" ]; then
    echo "gitian agent: no control port" >/dev/console
    echo o >/proc/sysrq-trigger
fi
if modprobe virtio_net 2>/dev/null && ip link show eth0 >/dev/null 2>&1; then
    ip addr add 10.0.2.15/24 dev eth0
    ip link set eth0 up
    ip route add default via 10.0.2.2
    echo "nameserver 10.0.2.3" >/etc/resolv.conf
fi
exec 3<>"$port"
echo READY >&3
while read -r verb arg <&3; do
    case $verb in
    RUN)
        sh "/run/gitian/cmd/$arg/run" </dev/null
        echo "EXIT $arg $?" >&3
        ;;
    NET)
        ip link set eth0 down 2>/dev/null
        ip addr flush dev eth0 2>/dev/null
        ip route flush table main 2>/dev/null
        : >/etc/resolv.conf
        echo "NET off" >&3
        ;;
    esac
done
