#!/bin/sh
# Builds the minimal Debian 12 guest of bench/instant-start: a root filesystem made with
# debootstrap (systemd, the guest agent, a unit printing BOOTED on the serial console),
# written into a raw ext4 disk image with `mkfs.ext4 -d` (no loop device needed), and the
# kernel and a small initramfs (virtio + ext4 only) beside it for QEMU's -kernel/-initrd.
#
#   sh bench/instant-start/build-image.sh OUT_DIR [DISK_SIZE]     (root; ~5 min, cached by the bench)
#   EXTRA_PACKAGES=task-xfce-desktop sh bench/instant-start/build-image.sh OUT_DIR 8G   (more packages; untried)
set -eu
OUT=${1:?usage: build-image.sh OUT_DIR [DISK_SIZE]}
SIZE=${2:-2G}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT="$OUT/rootfs"
mkdir -p "$OUT"
rm -rf "$ROOT"
debootstrap --variant=minbase \
  --include=systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,qemu-guest-agent${EXTRA_PACKAGES:+,$EXTRA_PACKAGES} \
  bookworm "$ROOT" "$MIRROR"

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
ln -sf /etc/systemd/system/boot-marker.service "$ROOT/etc/systemd/system/default.target.wants/boot-marker.service" 2>/dev/null || {
  mkdir -p "$ROOT/etc/systemd/system/default.target.wants"
  ln -sf /etc/systemd/system/boot-marker.service "$ROOT/etc/systemd/system/default.target.wants/boot-marker.service"
}
# The guest agent starts on its virtio port's device (udev); make it wanted anyway.
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
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
