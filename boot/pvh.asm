; boot/pvh.asm — the PVH entry (Xen's HVM direct boot ABI, as QEMU -kernel
; without a multiboot header, QEMU microvm, Firecracker and Cloud Hypervisor
; use it).
;
; The VMM finds the entry in an ELF note: name "Xen", type 18
; (XEN_ELFNOTE_PHYS32_ENTRY), descriptor = the 32-bit physical entry
; address (8 bytes here, zero-extended, so 32- and 64-bit ELF readers both
; get it). It enters in 32-bit protected mode, paging off, flat segments,
; with EBX = physical address of struct hvm_start_info (magic 0x336EC578)
; (Xen public header arch-x86/hvm/start_info.h, "PVH boot ABI").

bits 32

PVH_START_MAGIC     equ 0x336EC578
BOOT_PROTO_PVH      equ 3           ; matches enum boot_protocol in kernel/boot.h
XEN_ELFNOTE_PHYS32_ENTRY equ 18

extern start32_common
extern start32_fail

section .note.pvh progbits alloc noexec nowrite align=4
    dd 4                            ; name size ("Xen" and its NUL)
    dd 8                            ; descriptor size
    dd XEN_ELFNOTE_PHYS32_ENTRY
    db "Xen", 0
    dq pvh_entry

section .boot.text progbits alloc exec nowrite align=16
global pvh_entry
pvh_entry:
    cli
    cld
    cmp dword [ebx], PVH_START_MAGIC
    jne .bad
    mov esi, BOOT_PROTO_PVH
    mov edi, ebx
    jmp start32_common
.bad:
    mov esi, msg_bad_pvh
    jmp start32_fail

section .boot.data progbits alloc noexec write align=16
msg_bad_pvh:
    db "zebu: PVH entry without a valid hvm_start_info (magic 0x336EC578); halting", 13, 10, 0
