#!/bin/sh
# Builds a Debian 12 guest of bench/instant-start: a root filesystem made with debootstrap
# from Debian packages, written into a raw ext4 disk image with `mkfs.ext4 -d` (no loop
# device needed), and the kernel and a small initramfs (virtio + ext4 only) beside it for
# QEMU's -kernel/-initrd. Two variants:
#
# - minimal: minbase + systemd + kernel + guest agent; a unit prints BOOTED on the serial
#   console once multi-user.target is reached (2 GiB disk);
# - desktop: the same + Xfce (xfce4, the Xorg server, LightDM logging the user `bench` in
#   automatically); an autostart entry of the Xfce session prints BOOTED on the serial
#   console once the session is up (8 GiB disk). Workspace VMs have no display device (the
#   node's sessions run QEMU with `-nodefaults -display none`), so Xorg draws with its
#   dummy video driver at 1280x800: the same X server, session and drawing work as on a
#   screen, no emulated VGA. The serial getty is masked so that the session user (group
#   dialout) may write to /dev/ttyS0.
#
#   sh bench/instant-start/build-image.sh OUT_DIR [DISK_SIZE]                  (root; ~5 min)
#   VARIANT=desktop sh bench/instant-start/build-image.sh OUT_DIR 8G            (root; ~15 min)
# The bench builds and caches both under ~/.cache/branchcast-bench/<variant>.
set -eu
OUT=${1:?usage: build-image.sh OUT_DIR [DISK_SIZE]}
VARIANT=${VARIANT:-minimal}
case "$VARIANT" in
  minimal) SIZE=${2:-2G} ;;
  desktop) SIZE=${2:-8G} ;;
  *) echo "unknown VARIANT $VARIANT (minimal, desktop)" >&2; exit 2 ;;
esac
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT="$OUT/rootfs"
mkdir -p "$OUT"
rm -rf "$ROOT"
debootstrap --variant=minbase \
  --include=systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,qemu-guest-agent${EXTRA_PACKAGES:+,$EXTRA_PACKAGES} \
  bookworm "$ROOT" "$MIRROR"

mkdir -p "$ROOT/etc/systemd/system/default.target.wants"
if [ "$VARIANT" = minimal ]; then
  # The boot marker: once the system is up (multi-user reached), one line on the serial console.
  cat > "$ROOT/etc/systemd/system/boot-marker.service" <<'UNIT'
[Unit]
Description=Print the boot marker on the serial console
After=multi-user.target qemu-guest-agent.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo BOOTED > /dev/ttyS0'

[Install]
WantedBy=default.target
UNIT
  ln -sf /etc/systemd/system/boot-marker.service "$ROOT/etc/systemd/system/default.target.wants/boot-marker.service"
else
  # Xfce from Debian's packages, installed in the chroot; services do not start there.
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
  mount -t proc proc "$ROOT/proc"
  mount --bind /dev "$ROOT/dev"
  mount -t sysfs sys "$ROOT/sys"
  trap 'umount "$ROOT/proc" "$ROOT/dev" "$ROOT/sys" 2>/dev/null || true' EXIT
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get update
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    xfce4 xfce4-terminal lightdm lightdm-gtk-greeter xserver-xorg-core xserver-xorg-video-dummy xserver-xorg-input-libinput \
    dbus-x11 dbus-user-session libpam-systemd xfonts-base fonts-dejavu-core adwaita-icon-theme
  chroot "$ROOT" apt-get clean
  umount "$ROOT/proc" "$ROOT/dev" "$ROOT/sys"; trap - EXIT
  rm -f "$ROOT/usr/sbin/policy-rc.d"
  chroot "$ROOT" useradd -m -s /bin/bash -G dialout,video,audio bench
  mkdir -p "$ROOT/etc/lightdm/lightdm.conf.d"
  printf '[Seat:*]\nautologin-user=bench\nautologin-user-timeout=0\nautologin-session=xfce\nuser-session=xfce\n' > "$ROOT/etc/lightdm/lightdm.conf.d/50-bench.conf"
  mkdir -p "$ROOT/etc/X11/xorg.conf.d"
  cat > "$ROOT/etc/X11/xorg.conf.d/10-dummy.conf" <<'CONF'
Section "Device"
  Identifier "dummy"
  Driver "dummy"
  VideoRam 16384
EndSection
Section "Monitor"
  Identifier "monitor"
  HorizSync 28.0-80.0
  VertRefresh 48.0-75.0
  Modeline "1280x800" 83.50 1280 1352 1480 1680 800 803 809 831 -hsync +vsync
EndSection
Section "Screen"
  Identifier "screen"
  Device "dummy"
  Monitor "monitor"
  DefaultDepth 24
  SubSection "Display"
    Depth 24
    Modes "1280x800"
  EndSubSection
EndSection
CONF
  ln -sf /lib/systemd/system/lightdm.service "$ROOT/etc/systemd/system/display-manager.service"
  ln -sf /lib/systemd/system/graphical.target "$ROOT/etc/systemd/system/default.target"
  # The boot marker: the Xfce session starts its autostart entries once the panel, the
  # window manager and the desktop are up.
  cat > "$ROOT/etc/xdg/autostart/boot-marker.desktop" <<'ENTRY'
[Desktop Entry]
Type=Application
Name=Boot marker
Exec=sh -c 'echo BOOTED > /dev/ttyS0'
NoDisplay=true
ENTRY
  # /dev/ttyS0 stays root:dialout 0660 only if no getty takes it over
  ln -sf /dev/null "$ROOT/etc/systemd/system/serial-getty@ttyS0.service"
fi
echo 'bench' > "$ROOT/etc/hostname"
printf '/dev/vda / ext4 rw,noatime 0 1\n' > "$ROOT/etc/fstab"
chroot "$ROOT" sh -c 'echo root:bench | chpasswd' || true

# A small initramfs: only what finds and mounts a virtio disk.
printf 'MODULES=list\nCOMPRESS=gzip\n' > "$ROOT/etc/initramfs-tools/conf.d/bench.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' > "$ROOT/etc/initramfs-tools/modules"
KVER=$(ls "$ROOT/lib/modules" | head -1)
mount -t proc proc "$ROOT/proc" || true
chroot "$ROOT" update-initramfs -c -k "$KVER" || chroot "$ROOT" update-initramfs -u -k "$KVER"
umount "$ROOT/proc" || true
cp "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$OUT/initrd.img"
rm -rf "$ROOT/var/cache/apt/archives"/*.deb

rm -f "$OUT/disk.raw"
mkfs.ext4 -q -F -L root -d "$ROOT" "$OUT/disk.raw" "$SIZE"
rm -rf "$ROOT"
echo "built $OUT/disk.raw ($SIZE), $OUT/vmlinuz, $OUT/initrd.img"
