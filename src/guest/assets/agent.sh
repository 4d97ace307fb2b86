# git-gitian guest agent, run as PID 1 from the host's virtiofs share by the initramfs's init
# (or by /sbin/gitian-init under another initramfs). Under TCG every program started costs a
# tenth of a second, so this uses shell builtins wherever it can.
# Protocol on the virtio-serial port "org.gitian.ctl", one line each way:
#   guest: READY                      once, when it can take commands
#   host:  RUN <id>                   run /run/gitian/cmd/<id>/run (written by the host)
#                                     in a subshell
#   guest: EXIT <id> <status>         when it has finished
#   host:  NET on                     configure the network interface (package installation)
#   guest: NET on
#   host:  NET off                    take it away for good (before the build script): the
#                                     NIC is unbound from its driver, so eth0 is gone and a
#                                     script sees only lo, as on every other backend
#   guest: NET off
# The host stops the guest itself (it kills QEMU); nothing on disk needs to survive.
[ -d /sys/module/virtio_console ] || modprobe virtio_console
port=
for p in /sys/class/virtio-ports/*; do
    read -r name <"$p/name" && [ "$name" = org.gitian.ctl ] && port=/dev/${p##*/}
done
if [ -z "$port" ]; then
    echo "gitian agent: no control port" >/dev/console
    echo o >/proc/sysrq-trigger
fi
[ -d /sys/module/virtio_net ] || modprobe virtio_net 2>/dev/null
# The host name every backend gives its guests (guest/env.rs HOSTNAME); a builtin, no program.
echo gitian >/proc/sys/kernel/hostname
exec 3<>"$port"
echo READY >&3
while read -r verb arg <&3; do
    case $verb in
    RUN)
        # A subshell, not a new sh: one program fewer per command.
        ( . "/run/gitian/cmd/$arg/run" ) </dev/null 3>&-
        echo "EXIT $arg $?" >&3
        ;;
    NET)
        # Only loopback until the host asks for the network (QEMU user networking).
        if [ "$arg" = on ]; then
            printf '%s\n' 'addr add 10.0.2.15/24 dev eth0' 'link set eth0 up' \
                'route add default via 10.0.2.2' | ip -batch - >/dev/console 2>&1
            echo "nameserver 10.0.2.3" >/etc/resolv.conf
        else
            printf '%s\n' 'link set eth0 down' 'addr flush dev eth0' |
                ip -force -batch - >/dev/null 2>&1
            : >/etc/resolv.conf
            # Builtins only: unbinding removes eth0 from the guest altogether (the host also
            # deletes the NIC's backend, so even root rebinding it reaches nothing).
            for d in /sys/bus/virtio/drivers/virtio_net/virtio*; do
                [ -e "$d" ] && echo "${d##*/}" >/sys/bus/virtio/drivers/virtio_net/unbind
            done
        fi
        echo "NET $arg" >&3
        ;;
    esac
done
