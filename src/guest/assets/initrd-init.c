/* git-gitian's initramfs /init for QEMU guests, built statically by `git gitian make-base`.
 * Debian's initramfs spends most of a TCG boot in udev and modprobe; this one only loads the
 * few virtio modules the guest needs (listed in load order in /modules), mounts /dev/vda and
 * switches to it. There it mounts the kernel file systems and the host's virtiofs share (tag
 * "gitian") and runs the agent script the host put on the share; without a share (a bare
 * boot) it powers off. Every step is a system call: under TCG each program started costs a
 * tenth of a second or more. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void say(const char *a, const char *b) {
    write(2, "gitian initramfs: ", 18);
    write(2, a, strlen(a));
    if (b) { write(2, b, strlen(b)); }
    write(2, "\n", 1);
}

static void die(const char *a, const char *b) {
    say(a, b);
    sync();
    reboot(RB_POWER_OFF);
    _exit(1);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Loopback up, as the network scripts would (the build may use localhost). */
static void loopback_up(void) {
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) { return; }
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
}

int main(void) {
    struct dirent **list;
    int n, i;
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    n = scandir("/modules", &list, NULL, by_name);
    for (i = 0; i < n; i++) {
        char path[512];
        int fd;
        if (list[i]->d_name[0] == '.') { continue; }
        strcpy(path, "/modules/");
        strncat(path, list[i]->d_name, sizeof path - 10);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)) {
            say("cannot load ", path);
        }
        if (fd >= 0) { close(fd); }
    }
    for (i = 0; i < 3000 && access("/dev/vda", F_OK) != 0; i++) { usleep(10000); }
    mkdir("/root", 0755);
    if (mount("/dev/vda", "/root", "ext4", 0, NULL) != 0) { die("cannot mount /dev/vda", NULL); }
    umount("/dev");
    if (chdir("/root") != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0) {
        die("cannot switch to the root file system", NULL);
    }
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    mkdir("/dev/pts", 0755);
    mkdir("/dev/shm", 01777);
    mount("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620,ptmxmode=666");
    mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
    mount("tmpfs", "/run", "tmpfs", 0, "mode=755");
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
    loopback_up();
    sethostname("gitian", 6);
    mkdir("/run/gitian", 0755);
    if (mount("gitian", "/run/gitian", "virtiofs", 0, NULL) == 0 && access("/run/gitian/agent.sh", R_OK) == 0) {
        /* The agent and every command get exactly this environment to build on. */
        char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        execle("/bin/sh", "sh", "/run/gitian/agent.sh", (char *)NULL, envp);
        die("cannot run the agent", NULL);
    }
    die("no host share: powering off", NULL);
    return 1;
}
