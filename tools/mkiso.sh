#!/usr/bin/env bash
# tools/mkiso.sh IMAGE.elf32 OUT.iso APPNAME "ARGS" [MODULE] — a GRUB rescue
# ISO that boots IMAGE with ARGS as its command line (and MODULE, e.g. the
# web server's site archive, as its boot module): on BIOS through multiboot 1
# (grub-pc-bin), on UEFI through multiboot 2 (grub-efi-amd64-bin; included
# when installed). GRUB's console goes to COM1 and the screen; no timeout.
set -euo pipefail
img="$1" out="$2" app="$3" args="${4:-}" module="${5:-}"
for t in grub-mkrescue xorriso mformat; do
  command -v "$t" >/dev/null || { echo "mkiso: $t missing: run tools/deps.sh iso" >&2; exit 1; }
done
[ -d /usr/lib/grub/i386-pc ] || { echo "mkiso: GRUB BIOS modules missing: install grub-pc-bin" >&2; exit 1; }
dir="$(dirname "$out")/iso-$app"
rm -rf "$dir"
mkdir -p "$dir/boot/grub"
cp "$img" "$dir/boot/zebu.elf"
mod1="" mod2=""
if [ -n "$module" ]; then
  [ -f "$module" ] || { echo "mkiso: no such module $module" >&2; exit 1; }
  cp "$module" "$dir/boot/module.bin"
  mod1="module /boot/module.bin" mod2="module2 /boot/module.bin"
fi
cat > "$dir/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry "Zebu ($app)" {
    if [ "\$grub_platform" = "efi" ]; then
        multiboot2 /boot/zebu.elf $args
        $mod2
    else
        set gfxpayload=text
        multiboot /boot/zebu.elf $args
        $mod1
    fi
    boot
}
CFG
log="$(mktemp)"
# Only the modules this grub.cfg uses: a small ISO that GRUB loads quickly.
# Booted as a disk (a USB stick; Nomad's qemu driver attaches images as a
# hard disk), GRUB tries every partition map its partmap.lst names and prints
# an error for each module missing, so the ISO carries them all (20 KiB).
partmaps="$(cd /usr/lib/grub/i386-pc && ls part_*.mod | sed 's/\.mod$//' | tr '\n' ' ')"
modules="multiboot multiboot2 normal serial terminal configfile echo test boot iso9660 $partmaps"
if ! grub-mkrescue --install-modules="$modules" --locales= --fonts= --themes= \
    --compress=xz -o "$out.tmp" "$dir" >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  echo "mkiso: grub-mkrescue failed" >&2
  exit 1
fi
rm -f "$log"
mv "$out.tmp" "$out"
echo "  ISO     $out ($(( $(stat -c %s "$out") / 1024 )) KiB)"
